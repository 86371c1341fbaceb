import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import Workflows
import CheckpointsTestSupport

/// Bad data files given to `TrainJob` (`batchwise train`) and `ModelPrediction`
/// (`batchwise predict`) are refused before training or predicting, with a
/// `WorkflowError.invalidData` naming the file, the dataset path, and the row and column.
@Suite struct DataValidationTests {
    private func job(_ folder: URL, data: URL, model: String = "m.keras", loss: Loss.Kind = .binaryCrossentropy) -> TrainJob {
        var job = TrainJob(data: data, output: folder.appendingPathComponent("out-\(UUID().uuidString).h5"))
        job.model = folder.appendingPathComponent(model)
        job.loss = loss
        job.optimizer = .sgd
        job.batchSize = 4
        return job
    }

    private func invalidData(_ body: () throws -> Void) -> (file: String, path: String, row: Int?, column: Int?, message: String)? {
        let error = #expect(throws: WorkflowError.self) { try body() }
        guard case let .invalidData(file, path, row, column, message) = error else {
            Issue.record("expected invalidData, got \(String(describing: error))"); return nil
        }
        return (file, path, row, column, message)
    }

    @Test("the clean data trains (so every refusal below is caused by its one defect)")
    func cleanDataTrains() throws {
        let folder = try DataFileFixtures.folder()
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0, 1, 0, 1, 1, 0, 1, 0])
        #expect(try job(folder, data: data).run(progress: .quiet).epochs == [0])
        let sparse = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0, 1, 2, 1, 0, 2, 1, 0])
        #expect(try job(folder, data: sparse, model: "c.keras", loss: .sparseCategoricalCrossentropy).run(progress: .quiet).epochs == [0])
    }

    @Test("a NaN or infinity in the features is refused naming row and column",
          arguments: [(Double.nan, 7), (.infinity, 13), (-.infinity, 23)])
    func nonFiniteFeature(value: Double, index: Int) throws {
        let folder = try DataFileFixtures.folder()
        var x = DataFileFixtures.goodX
        x[index] = value
        for float64 in [false, true] {
            let data = try DataFileFixtures.writeData(folder, x: x, xShape: [8, 3], y: [0, 1, 0, 1, 1, 0, 1, 0], float64: float64)
            let found = invalidData { try job(folder, data: data).run(progress: .quiet) }
            #expect(found?.file == data.path && found?.path == "/x")
            #expect(found?.row == index / 3 && found?.column == index % 3)
            #expect(found?.message.contains("not finite") == true)
        }
    }

    @Test func aFloat64FeatureThatOverflowsFloat32IsRefused() throws {
        let folder = try DataFileFixtures.folder()
        var x = DataFileFixtures.goodX
        x[4] = 1e300
        let data = try DataFileFixtures.writeData(folder, x: x, xShape: [8, 3], y: [0, 1, 0, 1, 1, 0, 1, 0], float64: true)
        let found = invalidData { try job(folder, data: data).run(progress: .quiet) }
        #expect(found?.row == 1 && found?.column == 1 && found?.message.contains("overflows float32") == true)
    }

    @Test func aNaNTargetIsRefusedNamingItsRow() throws {
        let folder = try DataFileFixtures.folder()
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0, 1, 0, 1, 1, .nan, 1, 0])
        let found = invalidData { try job(folder, data: data).run(progress: .quiet) }
        #expect(found?.path == "/y" && found?.row == 5 && found?.column == 0)
    }

    @Test("a sparse label that is negative, too large or fractional is refused naming row, label and class count",
          arguments: [(-1.0, "label -1 is outside 0..<3"), (3.0, "label 3 is outside 0..<3"), (1.5, "label 1.5 is not an integer")])
    func badSparseLabel(label: Double, expected: String) throws {
        let folder = try DataFileFixtures.folder()
        var y: [Double] = [0, 1, 2, 1, 0, 2, 1, 0]
        y[6] = label
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: y)
        let found = invalidData {
            try job(folder, data: data, model: "c.keras", loss: .sparseCategoricalCrossentropy).run(progress: .quiet)
        }
        #expect(found?.path == "/y" && found?.row == 6)
        #expect(found?.message.contains(expected) == true, "\(found?.message ?? "")")
        #expect(found?.message.contains("3 outputs") == true)
    }

    @Test func featuresOfTheWrongWidthNameFoundAndExpectedShapes() throws {
        let folder = try DataFileFixtures.folder()
        let data = try DataFileFixtures.writeData(folder, x: Array(DataFileFixtures.goodX[0..<16]), xShape: [8, 2], y: [0, 1, 0, 1, 1, 0, 1, 0])
        let found = invalidData { try job(folder, data: data).run(progress: .quiet) }
        #expect(found?.path == "/x" && found?.message == "features have shape [8, 2]; the model takes [rows, 3]")
    }

    @Test func targetsNotShapedForTheLossNameBothShapes() throws {
        let folder = try DataFileFixtures.folder()
        let labels: [Double] = [0, 1, 2, 1, 0, 2, 1, 0]
        let sparseData = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: labels)
        let categorical = invalidData {
            try job(folder, data: sparseData, model: "c.keras", loss: .categoricalCrossentropy).run(progress: .quiet)
        }
        #expect(categorical?.path == "/y" && categorical?.message.contains("targets have shape [8, 1]") == true)
        #expect(categorical?.message.contains("needs [8, 3]") == true)
        let oneHot = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [Double](repeating: 0, count: 24), yShape: [8, 3])
        let sparse = invalidData {
            try job(folder, data: oneHot, model: "c.keras", loss: .sparseCategoricalCrossentropy).run(progress: .quiet)
        }
        #expect(sparse?.message.contains("found [8, 3]") == true)
    }

    @Test func anEmptyDatasetIsRefusedNamingFileAndPath() throws {
        let folder = try DataFileFixtures.folder()
        let data = try DataFileFixtures.writeData(folder, x: [], xShape: [0, 3], y: [])
        let found = invalidData { try job(folder, data: data).run(progress: .quiet) }
        #expect(found?.file == data.path && found?.path == "/x" && found?.message.contains("empty") == true)
    }

    @Test("a validation split leaving no training rows is refused (Keras floors the training part, so validation always gets one)",
          arguments: [(0.9, 0, 8), (0.99, 0, 8)])
    func emptyValidationSplit(split: Double, trainRows: Int, validationRows: Int) throws {
        let folder = try DataFileFixtures.folder()
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0, 1, 0, 1, 1, 0, 1, 0])
        var bad = job(folder, data: data)
        bad.validationSplit = split
        let found = invalidData { try bad.run(progress: .quiet) }
        #expect(found?.message.contains("leaves \(trainRows) training and \(validationRows) validation rows") == true)
        // Keras: split_at = floor(8 × 0.75) = 6 training rows.
        let training = try TrainingData(file: data, x: "/x", y: "/y", sparseTargets: false)
        #expect(try training.splitPoint(validationSplit: 0.25) == 6 && training.splitPoint(validationSplit: 0.3) == 5)
    }

    @Test func aDivergingLossStopsTheJobWithoutSavingAndKeepsTheCheckpoint() throws {
        let folder = try DataFileFixtures.folder()
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX.map { $0 * 1e3 }, xShape: [8, 3], y: [Double](repeating: 1e6, count: 8))
        var diverging = job(folder, data: data, loss: .meanSquaredError)
        diverging.learningRate = 1e30
        diverging.epochs = 5
        let error = #expect(throws: TrainingError.self) { try diverging.run(progress: .quiet) }
        guard case let .nonFiniteLoss(_, _, _, cause) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(cause == .model)
        #expect(!FileManager.default.fileExists(atPath: diverging.output.path))
    }

    // MARK: predict

    @Test func predictRefusesANonFiniteInputUnlessAllowed() throws {
        let folder = try DataFileFixtures.folder()
        var x = DataFileFixtures.goodX
        x[10] = .nan
        let data = try DataFileFixtures.writeData(folder, x: x, xShape: [8, 3], y: [0])
        let output = DatasetLocation(file: folder.appendingPathComponent("p.h5"), path: "/p")
        let input = DatasetLocation(file: data, path: "/x")
        let found = invalidData { try ModelPrediction.run(model: folder.appendingPathComponent("m.keras"), input: input, output: output) }
        #expect(found?.file == data.path && found?.path == "/x" && found?.row == 3 && found?.column == 1)
        #expect(!FileManager.default.fileExists(atPath: output.file.path))
        let y = try ModelPrediction.run(model: folder.appendingPathComponent("m.keras"), input: input, output: output, allowNonFinite: true)
        #expect(y.scalars.enumerated().allSatisfy { $0.offset == 3 ? $0.element.isNaN : $0.element.isFinite })
        // Recalibration data is never allowed to be non-finite.
        let recalibration = invalidData {
            try ModelPrediction.run(model: folder.appendingPathComponent("m.keras"), input: DatasetLocation(file: data, path: "/x"),
                                    output: output, recalibrateOn: input, allowNonFinite: true)
        }
        #expect(recalibration?.row == 3)
    }

    @Test func predictRefusesAnEmptyInput() throws {
        let folder = try DataFileFixtures.folder()
        let data = try DataFileFixtures.writeData(folder, x: [], xShape: [0, 3], y: [])
        let found = invalidData {
            try ModelPrediction.run(model: folder.appendingPathComponent("m.keras"), input: DatasetLocation(file: data, path: "/x"),
                                    output: DatasetLocation(file: folder.appendingPathComponent("p.h5"), path: "/p"))
        }
        #expect(found?.path == "/x" && found?.message.contains("empty") == true)
    }
}
