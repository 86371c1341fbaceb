import Foundation
import HDF5
import Testing
import Tensors
import Workflows
import CheckpointsTestSupport

/// `FILE:/dataset` texts that name no dataset, a prediction batch size of 0 and an input
/// dataset that is not there: each is the `WorkflowError` naming the text, setting or dataset,
/// and no output file is written.
@Suite("Prediction inputs and locations are refused naming the text, setting or dataset")
struct PredictionErrorTests {
    @Test("a location without a dataset path, or with an empty one", arguments: ["data.h5", "data.h5:x", ":/x"])
    func locationWithoutPath(text: String) {
        #expect(throws: WorkflowError.invalidLocation(text: text, problem: "expected FILE.h5:/dataset (e.g. data.h5:/x)")) {
            try DatasetLocation(parsing: text)
        }
    }

    @Test("a location whose dataset path is only the root")
    func locationWithRootPath() throws {
        #expect(throws: WorkflowError.invalidLocation(text: "data.h5:/", problem: "the dataset path is empty")) {
            try DatasetLocation(parsing: "data.h5:/")
        }
        // A colon in the file name is kept: the split is at the last ':/'.
        let parsed = try DatasetLocation(parsing: "run:3.h5:/x")
        #expect(parsed.file.lastPathComponent == "run:3.h5" && parsed.path == "/x")
    }

    @Test("a batch size of 0 is refused naming the setting, in memory and from files")
    func zeroBatch() throws {
        let folder = try DataFileFixtures.folder()
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0])
        let refusal = WorkflowError.invalidSetting(file: nil, setting: .batchSize, problem: "batch size must be positive, got 0")
        let output = DatasetLocation(file: folder.appendingPathComponent("p.h5"), path: "/p")
        #expect(throws: refusal) {
            try ModelPrediction.run(model: folder.appendingPathComponent("m.keras"), input: DatasetLocation(file: data, path: "/x"),
                                    output: output, batchSize: 0)
        }
        #expect(!FileManager.default.fileExists(atPath: output.file.path))
        let model = try NativeFixtures.model()
        #expect(throws: refusal) {
            try ModelPrediction.predict(model, try Tensor<Float>(shape: [1, 3], scalars: [1, 2, 3]), mode: .inference, batchSize: 0)
        }
    }

    @Test("an input dataset that is not in the file, or is a group, names file and path")
    func missingInputDataset() throws {
        let folder = try DataFileFixtures.folder()
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0])
        let file = try HDF5File.open(at: data, mode: .readWrite)
        try file.createGroup("/group")
        try file.close()
        let output = DatasetLocation(file: folder.appendingPathComponent("p.h5"), path: "/p")
        for path in ["/features", "/group"] {
            #expect(throws: WorkflowError.invalidData(file: data.path, path: path, row: nil, column: nil, message: "no such dataset")) {
                try ModelPrediction.run(model: folder.appendingPathComponent("m.keras"), input: DatasetLocation(file: data, path: path),
                                        output: output)
            }
        }
        #expect(!FileManager.default.fileExists(atPath: output.file.path))
    }
}
