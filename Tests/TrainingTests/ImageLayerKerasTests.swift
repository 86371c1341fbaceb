import Foundation
import HDF5
import Testing
import Tensors
@testable import Training

/// Every image layer, decoded from the config real Keras wrote for it, run through the
/// Layer protocol on the fixture's weights and input (fixtures/conv/conv_layers.h5):
/// forward within 1e-5 and gradients within 1e-4 of Keras, and the config it encodes
/// carries Keras's options.
@Suite struct ImageLayerKerasTests {
    static let layerTypes: [String: any Layer.Type] = Dictionary(
        uniqueKeysWithValues: KerasLayerTypes.all.compactMap { type in type.kerasClassName.map { ($0, type) } })

    struct Run {
        let fixture: ConvolutionKerasTests.Case
        let config: KerasJSONConfig
        let layer: any Layer

        init(_ name: String) throws {
            fixture = try ConvolutionKerasTests.open(name)
            let className = try fixture.file.readAttribute("layer", of: "/\(name)", as: String.self)
            config = try KerasJSONConfig(json: try fixture.file.readAttribute("config_json", of: "/\(name)", as: String.self))
            let type = try #require(ImageLayerKerasTests.layerTypes[className], "no layer type for \(className)")
            var layer = try type.decodeKerasConfig(config, name: name)
            _ = try layer.build(inputShape: Array(try fixture.tensor("x").shape.dropFirst()), seed: 1)
            for variable in layer.variables { try layer.setVariable(variable.name, to: try fixture.tensor(variable.name)) }
            self.layer = layer
        }
    }

    func difference(_ a: Tensor<Float>?, _ b: Tensor<Float>) -> Float {
        guard let a, a.shape == b.shape else { return .infinity }
        return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max()! / max(1, b.maxAbsolute)
    }

    /// Forward and backward through the existential layer (opening its Tape type).
    func check<L: Layer>(_ layer: L, _ run: Run, mode: ExecutionMode = .training, suffix: String = "") throws
        -> (gradients: LayerGradients, update: LayerStateUpdate) {
        let pass = try layer.forward(try run.fixture.tensor("x"), mode: mode)
        #expect(difference(pass.output, try run.fixture.tensor("y" + suffix)) < 1e-5, "\(run.fixture.name) forward")
        var gradients = LayerGradients()
        let dx = try layer.backward(try run.fixture.tensor("dy"), tape: pass.tape, gradients: &gradients, needsInputGradient: true)
        #expect(difference(dx, try run.fixture.tensor("dx" + suffix)) < 1e-4, "\(run.fixture.name) dx")
        return (gradients, pass.stateUpdate)
    }

    @Test(arguments: ["conv_same_3x3", "conv_same_stride2_odd", "conv_same_stride2_even_kernel", "conv_same_dilation2",
                      "conv_valid_stride_no_bias", "conv_valid_dilation2", "depthwise_same_stride2", "depthwise_valid_dilation2",
                      "maxpool_valid_2", "maxpool_same_3_stride2", "avgpool_valid_2", "avgpool_same_3_stride2",
                      "avgpool_same_2x3_stride1", "global_average", "global_max", "zero_padding"])
    func layerMatchesKeras(_ name: String) throws {
        let run = try Run(name)
        let (gradients, update) = try check(run.layer, run)
        #expect(update.isEmpty)
        let trainable = run.layer.variables.filter(\.isTrainable).map(\.name)
        #expect(gradients.names == trainable)
        for variable in trainable {
            #expect(difference(gradients[variable], try run.fixture.tensor("d_" + variable)) < 1e-4, "\(name) d_\(variable)")
        }
        // The options the layer encodes are the ones Keras wrote.
        var recorded = KerasConfigRecorder()
        run.layer.encodeKerasConfig(to: &recorded)
        for (key, value) in recorded.members where !(value is NSNull) && !key.hasSuffix("initializer") {
            let keras = try #require(run.config[key], "Keras's config has no \(key)")
            #expect("\(value)" == "\(keras.value)" || (value as? Bool).map { "\($0)" == "\(keras.value)" || ($0 ? "1" : "0") == "\(keras.value)" } == true,
                    "\(name).\(key): \(value) vs Keras \(keras.value)")
        }
    }

    @Test func batchNormalizationOverNHWCMatchesKerasInBothModes() throws {
        let run = try Run("bn_nhwc")
        let (gradients, update) = try check(run.layer, run, mode: .training)
        #expect(difference(gradients["gamma"], try run.fixture.tensor("d_gamma")) < 1e-4)
        #expect(difference(gradients["beta"], try run.fixture.tensor("d_beta")) < 1e-4)
        #expect(difference(update.variables["moving_mean"], try run.fixture.tensor("moving_mean_after")) < 1e-5)
        #expect(difference(update.variables["moving_variance"], try run.fixture.tensor("moving_variance_after")) < 1e-5)
        let inference = try check(run.layer, run, mode: .inference, suffix: "_inference")
        #expect(inference.update.isEmpty)
        #expect(run.layer.parameterCount(forInput: [3, 5, 3]) == 12)
    }

    @Test func aSmallCNNTrainsThroughSequentialWithImageShapes() throws {
        var model = try Sequential(inputShape: [8, 8, 1], [
            Conv2D(filters: 4, kernelSize: Size2D(square: 3), padding: .same),
            BatchNormalization(), ReLU(),
            MaxPooling2D(poolSize: Size2D(square: 2)),
            DepthwiseConv2D(kernelSize: Size2D(square: 2), depthMultiplier: 2),
            GlobalAveragePooling2D(),
            Dense(units: 3, activation: .softmax),
        ], seed: 5)
        #expect(model.layers.map(\.name) == ["conv2d", "batch_normalization", "re_lu", "max_pooling2d",
                                             "depthwise_conv2d", "global_average_pooling2d", "dense"])
        #expect(model.outputShape == [3])
        let x = try Tensor<Float>(shape: [6, 8, 8, 1], scalars: (0..<384).map { Float(($0 * 37) % 17) / 8 - 1 })
        let y = Tensor<Float>([0, 1, 2, 0, 1, 2])
        let step = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        #expect(step.loss.isFinite)
        // Every trainable variable of every layer has a gradient of its own shape.
        for layer in model.layers {
            for variable in layer.variables where variable.isTrainable {
                let gradient = try #require(step.gradients["\(layer.name)/\(variable.name)"], "\(layer.name)/\(variable.name)")
                #expect(gradient.shape == variable.value.shape)
            }
        }
        try model.apply(step.stateUpdate)
        var sgd = SGD(learningRate: 0.1)
        try sgd.apply(step.gradients, to: &model)
        let after = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        #expect(after.loss < step.loss)
    }

    @Test func reshapeAndFlattenMoveBetweenFeaturesAndImages() throws {
        var reshape = Reshape(targetShape: [4, -1, 1])
        #expect(try reshape.build(inputShape: [16], seed: 0) == [4, 4, 1])
        let x = try Tensor<Float>(shape: [2, 16], scalars: (0..<32).map(Float.init))
        let pass = try reshape.forward(x, mode: .inference)
        #expect(pass.output.shape == [2, 4, 4, 1] && pass.output.scalars == x.scalars)
        var gradients = LayerGradients()
        #expect(try reshape.backward(pass.output, tape: (), gradients: &gradients, needsInputGradient: true) == x)
        var recorded = KerasConfigRecorder()
        reshape.encodeKerasConfig(to: &recorded)
        #expect(recorded.members["target_shape"] as? [Int] == [4, 4, 1])
        #expect(throws: TrainingError.self) { try Reshape(targetShape: [5, -1]).outputShape(forInput: [16]) }
    }
}
