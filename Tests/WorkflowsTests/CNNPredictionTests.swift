import Foundation
import HDF5
import Tensors
import Testing
import Training
import Workflows
import CheckpointsTestSupport

/// `batchwise predict` on a CNN: images `[rows, 8, 8, 1]` from an HDF5 file through
/// fixtures/conv/cnn.keras give Keras's predictions (`/cnn_sgd/predictions_initial` of
/// fixtures/conv/conv_layers.h5), `--recalibrate-on` re-estimates NHWC moving statistics per
/// channel; rows of 64 values are refused with the shapes and the fix.
@Suite struct CNNPredictionTests {
    static let conv = KerasFixtures.directory.deletingLastPathComponent().appendingPathComponent("conv")

    @Test func imagesPredictLikeKerasAndFlatRowsAreRefused() throws {
        let reference = Self.conv.appendingPathComponent("conv_layers.h5")
        let expected: Tensor<Float>
        do {
            let file = try HDF5File.open(at: reference)
            defer { try? file.close() }
            expected = try Tensor(file.read("/cnn_sgd/predictions_initial", as: Float.self))
        }
        let folder = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = Self.conv.appendingPathComponent("cnn.keras")
        let output = DatasetLocation(file: folder.appendingPathComponent("y.h5"), path: "/y")
        let y = try ModelPrediction.run(model: model, input: DatasetLocation(file: reference, path: "/cnn_sgd/x"),
                                        output: output, batchSize: 3)
        #expect(y.shape == expected.shape && zip(y.scalars, expected.scalars).allSatisfy { abs($0 - $1) < 1e-5 })
        // Moving statistics re-estimated (in batches of 3) on the 8 images are their population
        // statistics over N·H·W per channel, so with the model's one BatchNormalization, inference
        // equals normalizing all 8 images as one batch.
        let images = DatasetLocation(file: reference, path: "/cnn_sgd/x")
        let recalibrated = try ModelPrediction.run(model: model, input: images, output: output, batchSize: 3, recalibrateOn: images)
        let oneBatch = try ModelPrediction.run(model: model, input: images, output: output, mode: .batchStatistics, batchSize: 8)
        #expect(recalibrated.shape == [8, 3] && recalibrated != y)
        #expect(zip(recalibrated.scalars, oneBatch.scalars).allSatisfy { abs($0 - $1) < 1e-5 }, "\(recalibrated) \(oneBatch)")

        let flat = folder.appendingPathComponent("flat.h5")
        try HDF5File.atomicWrite(to: flat) { try $0.write([Float](repeating: 0.5, count: 4 * 64), shape: [4, 64], to: "/x") }
        do {
            _ = try ModelPrediction.run(model: model, input: DatasetLocation(file: flat, path: "/x"), output: output)
            Issue.record("rows of 64 went into an 8x8x1 model")
        } catch let WorkflowError.invalidData(file, path, _, _, message) {
            #expect(file == flat.path && path == "/x" && message.contains("[4, 64]") && message.contains("[rows, 8, 8, 1]")
                    && message.contains("Reshape"), "\(message)")
        }
    }
}
