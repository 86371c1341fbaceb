import Foundation
import HDF5
import Tensors
import Testing
import Training
@testable import Checkpoints
import Workflows
import CheckpointsTestSupport

@Suite("Prediction from model files into HDF5 (the logic behind `batchwise predict`)")
struct KerasPredictionTests {
    func readOutput(_ location: DatasetLocation) throws -> Tensor<Float> {
        let file = try HDF5File.open(at: location.file)
        defer { try? file.close() }
        let array = try file.read(location.path, as: Float.self)
        return try Tensor(shape: array.shape, scalars: array.values)
    }

    @Test("both modes from .keras and legacy .h5 match Keras's outputs (batch = the 16 reference rows)",
          arguments: KerasFixtures.models)
    func predictsLikeKeras(model name: String) throws {
        let directory = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let reference = try KerasFixtures.reference(name)
        let input = DatasetLocation(file: KerasFixtures.url("\(name).io.h5"), path: "/inputs")
        for suffix in ["keras", "h5"] {
            let out = DatasetLocation(file: directory.appendingPathComponent("out.h5"), path: "/pred/\(suffix)")
            try ModelPrediction.run(model: KerasFixtures.url("\(name).\(suffix)"), input: input, output: out,
                                    mode: .inference, batchSize: 5)
            #expect(scaledError(try readOutput(out), reference.inference) <= 1, "\(name).\(suffix) inference")
            let batchOut = DatasetLocation(file: out.file, path: "/pred/\(suffix)_batch")
            try ModelPrediction.run(model: KerasFixtures.url("\(name).\(suffix)"), input: input, output: batchOut,
                                    mode: .batchStatistics, batchSize: 16)
            #expect(scaledError(try readOutput(batchOut), reference.batchStatistics) <= 1, "\(name).\(suffix) batch statistics")
            // The earlier dataset in the same output file survives the update.
            #expect(try readOutput(out).shape == reference.inference.shape)
        }
    }

    @Test("in batch-statistics mode each batch is normalized on its own")
    func batchSizeMattersOnlyWithBatchStatistics() throws {
        let model = try KerasModelFile.load(KerasFixtures.url("seed_model.keras")).model
        let x = try KerasFixtures.reference("seed_model").inputs
        let whole = try ModelPrediction.predict(model, x, mode: .batchStatistics, batchSize: 16)
        let halves = try ModelPrediction.predict(model, x, mode: .batchStatistics, batchSize: 8)
        let firstHalf = try model.withBatchNormStatistics(.batch)(try x.rows(0..<8), mode: .inference)
        #expect(try halves.rows(0..<8) == firstHalf)
        #expect(halves != whole)
        #expect(try ModelPrediction.predict(model, x, mode: .inference, batchSize: 3)
                == ModelPrediction.predict(model, x, mode: .inference, batchSize: 16))
    }

    @Test("--recalibrate-on re-estimates moving statistics: inference on the same rows then equals one-batch statistics")
    func recalibration() throws {
        let directory = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let reference = try KerasFixtures.reference("no_affine_bn")
        let input = DatasetLocation(file: KerasFixtures.url("no_affine_bn.io.h5"), path: "/inputs")
        let out = DatasetLocation(file: directory.appendingPathComponent("o.h5"), path: "/y")
        let y = try ModelPrediction.run(model: KerasFixtures.url("no_affine_bn.keras"), input: input, output: out,
                                        mode: .inference, recalibrateOn: input)
        // With one BN right after the input, population statistics of these rows are the
        // batch statistics of the whole batch (up to the epsilon-free float rounding).
        #expect(scaledError(y, reference.batchStatistics) <= 10)
        #expect(scaledError(y, reference.inference) > 1)
    }

    @Test("bad locations and shapes are typed errors naming file and dataset")
    func errors() throws {
        #expect(throws: WorkflowError.self) { try DatasetLocation(parsing: "data.h5") }
        #expect(try DatasetLocation(parsing: "a:b.h5:/x/y") == DatasetLocation(file: URL(fileURLWithPath: "a:b.h5"), path: "/x/y"))
        let directory = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = DatasetLocation(file: directory.appendingPathComponent("o.h5"), path: "/y")
        let wrongWidth = DatasetLocation(file: KerasFixtures.url("seed_model.io.h5"), path: "/inputs")
        let error = #expect(throws: WorkflowError.self) {
            try ModelPrediction.run(model: KerasFixtures.url("softmax_classifier.keras"), input: wrongWidth, output: out)
        }
        #expect(error?.localizedDescription.contains("/inputs: features have shape [16, 1]; the model takes [rows, ") == true)
        #expect(!FileManager.default.fileExists(atPath: out.file.path))
        #expect(throws: CheckpointError.self) {
            try ModelPrediction.run(model: KerasFixtures.url("seed_model.weights.h5"), input: wrongWidth, output: out)
        }
    }
}
