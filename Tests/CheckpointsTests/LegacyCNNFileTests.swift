import Foundation
import HDF5
import Tensors
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Legacy HDF5 CNNs (issue 18, item 4): one Conv2D → BN → MaxPooling2D → Conv2D → BN → ReLU →
/// AveragePooling2D → Flatten → Dense network saved by Keras 3's `model.save("m.h5")`, by
/// tf.keras (tf_keras 2.21) `model.save`, and as weights only (Keras 3 `.weights.h5`, tf.keras
/// `save_weights`), by fixtures/conv/make_legacy_cnn_fixtures.py. Each loads and predicts as
/// Keras did (`legacy_cnn.io.h5`), within 1e-5.
@Suite struct LegacyCNNFileTests {
    static let conv = KerasFixtures.directory.deletingLastPathComponent().appendingPathComponent("conv")
    static let classes = ["Conv2D", "BatchNormalization", "MaxPooling2D", "Conv2D", "BatchNormalization", "ReLU",
                          "AveragePooling2D", "Flatten", "Dense"]

    static func url(_ name: String) -> URL { conv.appendingPathComponent(name) }

    func reference() throws -> (x: Tensor<Float>, keras: Tensor<Float>, tfKeras: Tensor<Float>) {
        let file = try HDF5File.open(at: Self.url("legacy_cnn.io.h5"))
        defer { try? file.close() }
        func tensor(_ path: String) throws -> Tensor<Float> { try Tensor(file.read(path, as: Float.self)) }
        #expect(try file.readAttribute("layer_classes", as: [String].self) == Self.classes)
        return (try tensor("/inputs"), try tensor("/outputs_inference"), try tensor("/outputs_tf_keras"))
    }

    func worst(_ a: Tensor<Float>, _ b: Tensor<Float>) -> Float {
        a.shape == b.shape ? zip(a.scalars, b.scalars).map { abs($0 - $1) }.max()! : .infinity
    }

    func expectCNN(_ model: Sequential) {
        #expect(model.inputShape == [8, 8, 1] && model.outputShape == [3])
        #expect(model.layers.map(\.typeName) == Self.classes)
        #expect(model.variables.first { $0.name.hasSuffix("/kernel") }?.value.shape == [3, 3, 1, 4])
    }

    @Test func aKeras3LegacyH5CNNLoadsAndPredictsLikeKeras() throws {
        let (x, expected, _) = try reference()
        let loaded = try KerasModelFile.load(Self.url("legacy_cnn.keras3.h5"))
        #expect(loaded.format == .legacyModel)
        expectCNN(loaded.model)
        #expect(worst(try loaded.model(x, mode: .inference), expected) < 1e-5)
        #expect(loaded.loss == Loss(.sparseCategoricalCrossentropy))
        // Keras 3's legacy writer names Adam's slots `adam/<layer>_<variable>_<slot>`; they map
        // back by variable, so a fine-tune continues Keras's optimizer state.
        #expect(loaded.optimizer is Adam && loaded.unsupportedOptimizer == nil)
        let state = try #require(loaded.optimizerState)
        #expect(state.iterations == 4)
        #expect(state.slots.count == 2 * loaded.model.trainableVariables.count)
        let file = try HDF5File.open(at: Self.url("legacy_cnn.keras3.h5"))
        defer { try? file.close() }
        for (key, dataset) in [("conv2d_1/kernel/velocity", "conv2d_1_kernel_velocity"),
                               ("batch_normalization_1/beta/momentum", "batch_normalization_1_beta_momentum")] {
            let stored = try file.read("/optimizer_weights/adam/\(dataset)", as: Float.self)
            #expect(state.slots[key] == (try Tensor(shape: stored.shape, scalars: stored.values)), "\(key)")
            #expect(state.slots[key]?.scalars.contains { $0 != 0 } == true, "\(key)")
        }
    }

    @Test func aTFKerasLegacyH5CNNLoadsWithItsAdamState() throws {
        let (x, expected, tfKeras) = try reference()
        #expect(worst(tfKeras, expected) < 1e-5)
        let loaded = try KerasModelFile.load(Self.url("legacy_cnn.tf_keras.h5"))
        expectCNN(loaded.model)
        #expect(worst(try loaded.model(x, mode: .inference), expected) < 1e-5)
        #expect(loaded.optimizer is Adam && loaded.loss == Loss(.sparseCategoricalCrossentropy))
        let state = try #require(loaded.optimizerState)
        #expect(state.slots["conv2d/kernel/momentum"]?.shape == [3, 3, 1, 4])
        #expect(state.slots["conv2d_1/kernel/velocity"]?.shape == [2, 2, 4, 6])
        #expect(state.slots.count == 2 * loaded.model.trainableVariables.count)
    }

    /// tf.keras names BatchNormalization's axis by its index (`[3]`, the channels of NHWC);
    /// the same config with `[1]` (channels first) would normalize another axis, so it is refused.
    @Test func aBatchNormAxisOtherThanTheChannelsIsRefusedNamingLayerAndAxis() throws {
        let file = try HDF5File.open(at: Self.url("legacy_cnn.tf_keras.h5"))
        let config = try file.readAttribute("model_config", as: String.self)
        try file.close()
        #expect(config.contains(#""axis": [3]"#))
        #expect(try KerasModelConfig.model(fromJSON: config, file: "m.h5").layers.count == Self.classes.count)
        let channelsFirst = config.replacingOccurrences(of: #""axis": [3]"#, with: #""axis": [1]"#)
        let error = #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: channelsFirst, file: "m.h5") }
        guard case let .unsupportedLayer(file: "m.h5", layer, "BatchNormalization", "axis", value?)? = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(layer == "batch_normalization" && value.contains("[1]") && value.contains("[batch, 8, 8, 4]")
                && value.contains("-1 or 3"), "\(value)")
    }

    @Test func weightsOnlyCNNFilesLoadIntoTheArchitecture() throws {
        let (x, expected, _) = try reference()
        let architecture = try KerasModelFile.load(Self.url("legacy_cnn.keras3.h5")).model
        for name in ["legacy_cnn.weights.h5", "legacy_cnn.tf_keras-weights.h5"] {
            // A model of the same architecture with other weights; loading must replace every one.
            var model = try Sequential(inputShape: architecture.inputShape, architecture.layers.map { layer -> any Layer in
                var fresh = layer
                for variable in layer.variables {
                    try! fresh.setVariable(variable.name, to: Tensor(shape: variable.value.shape,
                                                                     scalars: [Float](repeating: 0.5, count: variable.value.scalarCount)))
                }
                return fresh
            }, name: architecture.name)
            #expect(worst(try model(x, mode: .inference), expected) > 1e-3, "\(name)")
            try KerasModelFile.loadWeights(Self.url(name), into: &model)
            #expect(worst(try model(x, mode: .inference), expected) < 1e-5, "\(name)")
            #expect(model.variables.map(\.value) == architecture.variables.map(\.value), "\(name)")
        }
    }
}
