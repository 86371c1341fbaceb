import Foundation
import Testing
import Tensors
@testable import Training

/// The checks and Keras options that pairs of layers share (ConvolutionOptions,
/// Pooling2DOptions, GlobalPooling2D, NormalizationAffine), run through both layers of each
/// pair: the errors name the layer and the shapes or option at fault alike, and each layer
/// writes its own names for the shared options. The Keras fixture tests cover the values;
/// these cover the paths that only bad input reaches.
@Suite struct SharedLayerOptionsTests {
    @Test func bothConvolutionsRefuseAKerasConfigWithStridesAndDilationAbove1() throws {
        let config = try KerasJSONConfig(json: #"{"filters": 2, "kernel_size": [3, 3], "strides": [2, 2], "dilation_rate": 2}"#)
        let refusal = KerasConfigProblem.invalidOption("dilation_rate", message: "2x2 with strides 2x2: both cannot exceed 1")
        #expect(throws: refusal) { _ = try Conv2D.decodeKerasConfig(config, name: "conv") }
        #expect(throws: refusal) { _ = try DepthwiseConv2D.decodeKerasConfig(config, name: "depthwise") }
    }

    @Test func eachConvolutionWritesItsOwnKernelOptionNames() throws {
        var conv = KerasConfigRecorder(), depthwise = KerasConfigRecorder()
        Conv2D(filters: 2, kernelSize: Size2D(3, 1), strides: Size2D(1, 2), padding: .same, useBias: false)
            .encodeKerasConfig(to: &conv)
        DepthwiseConv2D(kernelSize: Size2D(3, 1), strides: Size2D(1, 2), padding: .same, depthMultiplier: 2, useBias: false)
            .encodeKerasConfig(to: &depthwise)
        for (recorded, kernel, other) in [(conv, "kernel", "depthwise"), (depthwise, "depthwise", "kernel")] {
            #expect(recorded.members["\(kernel)_initializer"] as? String == "GlorotUniform")
            #expect(recorded.members["\(kernel)_regularizer"] is NSNull && recorded.members["\(kernel)_constraint"] is NSNull)
            #expect(recorded.members["\(other)_initializer"] == nil && recorded.members["\(other)_regularizer"] == nil)
            #expect(recorded.members["kernel_size"] as? [Int] == [3, 1] && recorded.members["strides"] as? [Int] == [1, 2])
            #expect(recorded.members["padding"] as? String == "same" && recorded.members["use_bias"] as? Bool == false)
        }
        #expect(conv.members["filters"] as? Int == 2 && conv.members["groups"] as? Int == 1)
        #expect(depthwise.members["depth_multiplier"] as? Int == 2 && depthwise.members["filters"] == nil)
    }

    /// Runs a batch `[1, 4, 4, 2]` forward and backward with an upstream gradient of `upstreamShape`.
    func backward<L: Layer>(_ layer: L, upstreamShape: [Int]) throws {
        var layer = layer
        _ = try layer.build(inputShape: [4, 4, 2], seed: 1)
        let pass = try layer.forward(Tensor(repeating: 1, shape: [1, 4, 4, 2]), mode: .training)
        var gradients = LayerGradients()
        _ = try layer.backward(Tensor(zeros: upstreamShape), tape: pass.tape, gradients: &gradients, needsInputGradient: true)
    }

    @Test func poolingLayersNameTheirOutputShapeWhenTheUpstreamGradientDiffers() throws {
        #expect(throws: TrainingError.shapeMismatch(layer: "max", expected: [1, 2, 2, 2], found: [1, 3, 3, 2])) {
            try backward(MaxPooling2D(name: "max"), upstreamShape: [1, 3, 3, 2])
        }
        #expect(throws: TrainingError.shapeMismatch(layer: "average", expected: [1, 2, 2, 2], found: [1, 3, 3, 2])) {
            try backward(AveragePooling2D(name: "average"), upstreamShape: [1, 3, 3, 2])
        }
        #expect(throws: TrainingError.shapeMismatch(layer: "global_max", expected: [1, 2], found: [1, 3])) {
            try backward(GlobalMaxPooling2D(name: "global_max"), upstreamShape: [1, 3])
        }
        #expect(throws: TrainingError.shapeMismatch(layer: "global_average", expected: [1, 2], found: [1, 3])) {
            try backward(GlobalAveragePooling2D(name: "global_average"), upstreamShape: [1, 3])
        }
    }

    @Test func globalPoolingLayersRefuseKeepdimsAndChannelsFirstAlike() throws {
        let keepdims = try KerasJSONConfig(json: #"{"keepdims": true}"#)
        let channelsFirst = try KerasJSONConfig(json: #"{"data_format": "channels_first"}"#)
        #expect(throws: KerasConfigProblem.unsupportedOption("keepdims", value: "true")) {
            _ = try GlobalMaxPooling2D.decodeKerasConfig(keepdims, name: "g")
        }
        #expect(throws: KerasConfigProblem.unsupportedOption("keepdims", value: "true")) {
            _ = try GlobalAveragePooling2D.decodeKerasConfig(keepdims, name: "g")
        }
        #expect(throws: KerasConfigProblem.unsupportedOption("data_format", value: "channels_first")) {
            _ = try GlobalMaxPooling2D.decodeKerasConfig(channelsFirst, name: "g")
        }
        #expect(throws: KerasConfigProblem.unsupportedOption("data_format", value: "channels_first")) {
            _ = try GlobalAveragePooling2D.decodeKerasConfig(channelsFirst, name: "g")
        }
    }

    @Test func normalizationLayersNameTheVariablesTheyHaveAndTheShapeTheyWant() throws {
        var layerNorm = LayerNormalization(center: false, name: "ln")
        var groupNorm = GroupNormalization(groups: 1, scale: false, name: "gn")
        _ = try layerNorm.build(inputShape: [3], seed: 1)
        _ = try groupNorm.build(inputShape: [3], seed: 1)
        #expect(layerNorm.variables.map(\.name) == ["gamma"] && groupNorm.variables.map(\.name) == ["beta"])
        #expect(throws: TrainingError.unknownVariable(name: "ln/beta", available: ["ln/gamma"])) {
            try layerNorm.setVariable("beta", to: Tensor(zeros: [3]))
        }
        #expect(throws: TrainingError.unknownVariable(name: "gn/gamma", available: ["gn/beta"])) {
            try groupNorm.setVariable("gamma", to: Tensor(zeros: [3]))
        }
        #expect(throws: TrainingError.shapeMismatch(layer: "ln/gamma", expected: [3], found: [4])) {
            try layerNorm.setVariable("gamma", to: Tensor(zeros: [4]))
        }
        #expect(throws: TrainingError.shapeMismatch(layer: "gn/beta", expected: [3], found: [4])) {
            try groupNorm.setVariable("beta", to: Tensor(zeros: [4]))
        }
        try layerNorm.setVariable("gamma", to: Tensor([2, 3, 4]))
        try groupNorm.setVariable("beta", to: Tensor([5, 6, 7]))
        #expect(layerNorm.gamma.scalars == [2, 3, 4] && groupNorm.beta.scalars == [5, 6, 7])
    }

    @Test func normalizationLayersStoreGradientsOnlyForTheirVariablesAndOnlyWhenTrainable() throws {
        func gradientNames<L: Layer>(_ layer: L, trainable: Bool) throws -> [String] {
            var layer = layer
            layer.isTrainable = trainable
            _ = try layer.build(inputShape: [3], seed: 1)
            let input = try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 4, -1, 0, 3])
            let pass = try layer.forward(input, mode: .training)
            var gradients = LayerGradients()
            _ = try layer.backward(Tensor(repeating: 1, shape: [2, 3]), tape: pass.tape, gradients: &gradients,
                                   needsInputGradient: false)
            return gradients.names
        }
        #expect(try gradientNames(LayerNormalization(center: false), trainable: true) == ["gamma"])
        #expect(try gradientNames(GroupNormalization(groups: 3, scale: false), trainable: true) == ["beta"])
        #expect(try gradientNames(LayerNormalization(), trainable: false) == [])
        #expect(try gradientNames(GroupNormalization(groups: 1), trainable: false) == [])
    }

    @Test func normalizationLayersRefuseANegativeEpsilonAlike() throws {
        let config = try KerasJSONConfig(json: #"{"epsilon": -1, "groups": 1}"#)
        let refusal = KerasConfigProblem.invalidOption("epsilon", message: "-1.0 must be ≥ 0")
        #expect(throws: refusal) { _ = try LayerNormalization.decodeKerasConfig(config, name: "ln") }
        #expect(throws: refusal) { _ = try GroupNormalization.decodeKerasConfig(config, name: "gn") }
        let defaults = try KerasJSONConfig(json: #"{"groups": 1}"#)
        let layerNorm = try LayerNormalization.decodeKerasConfig(defaults, name: "ln")
        let groupNorm = try GroupNormalization.decodeKerasConfig(defaults, name: "gn")
        #expect(layerNorm.epsilon == 0.001 && layerNorm.center && layerNorm.scale)
        #expect(groupNorm.epsilon == 0.001 && groupNorm.center && groupNorm.scale)
    }
}
