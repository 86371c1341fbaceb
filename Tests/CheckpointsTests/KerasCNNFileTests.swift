import Foundation
import HDF5
import Tensors
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// A CNN saved by Keras 3 (fixtures/conv/cnn.keras: Conv2D, NHWC BatchNormalization, ReLU,
/// MaxPooling2D, Conv2D, GlobalAveragePooling2D, Dense; written by
/// fixtures/conv/make_conv_fixtures.py) loads with its image input shape and predicts as Keras
/// did; Batchwise writes it back as a `.keras` file that loads again unchanged.
@Suite struct KerasCNNFileTests {
    static let conv = KerasFixtures.directory.deletingLastPathComponent().appendingPathComponent("conv")

    func reference() throws -> (x: Tensor<Float>, predictions: Tensor<Float>) {
        let file = try HDF5File.open(at: Self.conv.appendingPathComponent("conv_layers.h5"))
        let x = try file.read("/cnn_sgd/x", as: Float.self), p = try file.read("/cnn_sgd/predictions_initial", as: Float.self)
        return (try Tensor(shape: x.shape, scalars: x.values), try Tensor(shape: p.shape, scalars: p.values))
    }

    func worst(_ a: Tensor<Float>, _ b: Tensor<Float>) -> Float {
        a.shape == b.shape ? zip(a.scalars, b.scalars).map { abs($0 - $1) }.max()! : .infinity
    }

    @Test func aKerasCNNLoadsAndPredictsLikeKeras() throws {
        let loaded = try KerasModelFile.load(Self.conv.appendingPathComponent("cnn.keras"))
        let model = loaded.model
        #expect(model.inputShape == [8, 8, 1])
        #expect(model.layers.map(\.typeName) == ["Conv2D", "BatchNormalization", "ReLU", "MaxPooling2D", "Conv2D",
                                                 "GlobalAveragePooling2D", "Dense"])
        let (x, expected) = try reference()
        #expect(worst(try model(x, mode: .inference), expected) < 1e-5)
        // The summary lists the per-example output shapes.
        let summary = model.summary()
        #expect(summary.contains("(None, 8, 8, 4)") && summary.contains("(None, 4, 4, 4)") && summary.contains("(None, 3, 3, 3)"),
                "\(summary)")

        let folder = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let copy = folder.appendingPathComponent("cnn.keras")
        try KerasModelFile.save(model, to: copy)
        // fixtures/conv/check_batchwise_written.py loads this file in Keras 3.
        if let export = ProcessInfo.processInfo.environment["BATCHWISE_WRITE_CNN_KERAS"] {
            try KerasModelFile.save(model, to: URL(fileURLWithPath: export))
        }
        let reloaded = try KerasModelFile.load(copy).model
        #expect(reloaded.inputShape == [8, 8, 1] && reloaded.layers.map(\.name) == model.layers.map(\.name))
        #expect(reloaded.variables.map(\.value) == model.variables.map(\.value))
        #expect(worst(try reloaded(x, mode: .inference), expected) < 1e-5)
    }
}
