import Foundation
import Testing
import Training
@testable import Checkpoints

/// Layer, optimizer and schedule options of a Keras config that are out of range or cannot
/// be built: each is refused as a `CheckpointError` whose JSON path ends at the option, and
/// whose message names the layer (or optimizer, schedule) and the value.
@Suite("Out-of-range Keras layer, optimizer and schedule options name their JSON path")
struct KerasOptionErrorTests {
    /// An 8x8x2 image input and one layer `LAYER`.
    static func imageModel(_ layer: String) -> String {
        """
        {"class_name": "Sequential", "config": {"name": "s", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 8, 8, 2], "name": "input_1"}},
          \(layer)]}}
        """
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let layer: String
        let path: String
        let message: String
        var testDescription: String { message }
    }

    static let layerCases: [Case] = [
        Case(layer: #"{"class_name": "Dropout", "config": {"name": "d", "rate": 1.5}}"#,
             path: "$.config.layers[1].config.rate", message: "layer 'd' (Dropout): rate 1.5 is outside [0, 1)"),
        Case(layer: #"{"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": "three"}}"#,
             path: "$.config.layers[1].config.kernel_size",
             message: "layer 'c' (Conv2D): kernel_size three is not an integer or a list of two integers"),
        Case(layer: #"{"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": [3, 0]}}"#,
             path: "$.config.layers[1].config.kernel_size", message: "layer 'c' (Conv2D): kernel_size [3,0] has an entry outside 1...65536"),
        Case(layer: #"{"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}}"#,
             path: "$.config.layers[1].config.dilation_rate",
             message: "layer 'c' (Conv2D): dilation_rate 2x2 with strides 2x2: both cannot exceed 1"),
        Case(layer: #"{"class_name": "ZeroPadding2D", "config": {"name": "z", "padding": [1, 2, 3]}}"#,
             path: "$.config.layers[1].config.padding",
             message: "layer 'z' (ZeroPadding2D): padding [1,2,3] is not an integer, a pair or a pair of pairs"),
        Case(layer: #"{"class_name": "ZeroPadding2D", "config": {"name": "z", "padding": [[1, -1], [0, 0]]}}"#,
             path: "$.config.layers[1].config.padding",
             message: "layer 'z' (ZeroPadding2D): padding [[1,-1],[0,0]] has an entry outside 0...100000000"),
        Case(layer: #"{"class_name": "Reshape", "config": {"name": "r", "target_shape": [5, 5]}}"#,
             path: "$.config.layers[1].config",
             message: "layer 'r': cannot reshape examples of shape [8, 8, 2] (128 values) to [5, 5]; "
                + "the target shape must hold the same number of values, with at most one -1"),
        Case(layer: #"{"class_name": "BatchNormalization", "config": {"name": "bn", "momentum": 1.5}}"#,
             path: "$.config.layers[1].config.momentum", message: "layer 'bn' (BatchNormalization): momentum 1.5 is outside [0, 1]"),
        Case(layer: #"{"class_name": "Conv2D", "config": {"name": "c", "filters": 0, "kernel_size": 3}}"#,
             path: "$.config.layers[1].config.filters", message: "layer 'c' (Conv2D): filters 0 is outside 1...100000000"),
        Case(layer: #"{"class_name": "DepthwiseConv2D", "config": {"name": "w", "kernel_size": 3, "depth_multiplier": 0}}"#,
             path: "$.config.layers[1].config.depth_multiplier", message: "layer 'w' (DepthwiseConv2D): depth_multiplier 0 is outside 1...100000000"),
        Case(layer: #"{"class_name": "Conv2D", "config": {"name": "c", "filters": 4}}"#,
             path: "$.config.layers[1].config", message: "layer 'c' (Conv2D): missing \"kernel_size\""),
        Case(layer: #"{"class_name": "Reshape", "config": {"name": "r", "target_shape": [0, 128]}}"#,
             path: "$.config.layers[1].config.target_shape",
             message: "layer 'r' (Reshape): target_shape [0,128] is not a list of positive sizes (one may be -1)"),
    ]

    /// Options Batchwise cannot reproduce: the layer, class, option and value are named.
    static let unsupportedCases: [(layer: String, name: String, className: String, option: String, value: String)] = [
        (#"{"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": 3, "groups": 2}}"#, "c", "Conv2D", "groups", "2"),
        (#"{"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": 3, "padding": "causal"}}"#, "c", "Conv2D", "padding", "causal"),
        (#"{"class_name": "Flatten", "config": {"name": "f"}}, {"class_name": "Dense", "config": {"name": "d", "units": 2, "lora_rank": 4}}"#,
         "d", "Dense", "lora_rank", "4"),
        (#"{"class_name": "ReLU", "config": {"name": "r", "negative_slope": 0.1}}"#, "r", "ReLU", "negative_slope", "0.1"),
    ]

    @Test("a layer option Batchwise cannot reproduce names the layer, class, option and value")
    func unsupportedLayerOption() throws {
        for item in Self.unsupportedCases {
            #expect(throws: CheckpointError.unsupportedLayer(file: "o.json", layer: item.name, className: item.className,
                                                             option: item.option, value: item.value)) {
                try KerasModelConfig.model(fromJSON: Self.imageModel(item.layer), file: "o.json")
            }
        }
    }

    @Test("a layer option out of range names the layer, the option and its value", arguments: layerCases)
    func layerOption(_ item: Case) throws {
        let error = #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: Self.imageModel(item.layer), file: "o.json") }
        #expect(error == .invalidModelConfig(file: "o.json", path: item.path, message: item.message), "got \(String(describing: error))")
    }

    @Test("a valid-padding window larger than its input names the layer and both sizes")
    func windowLargerThanInput() throws {
        let json = Self.imageModel(#"{"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": 9}}"#)
        let error = #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: json, file: "o.json") }
        guard case let .invalidModelConfig(file, path, message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == "o.json" && path == "$.config.layers[1].config")
        #expect(message.hasPrefix("layer 'c'") && message.contains("9x9") && message.contains(#"padding "valid"; use padding "same""#), "\(message)")
    }

    /// A Keras 3 serialized optimizer with `config` members.
    static func optimizer(_ className: String, _ config: String) -> String {
        #"{"module": "keras.optimizers", "class_name": "\#(className)", "config": {\#(config)}, "registered_name": null}"#
    }

    static let optimizerCases: [Case] = [
        Case(layer: optimizer("Lion", #""learning_rate": 0.001, "beta_1": 0.0"#),
             path: "$.config.beta_1", message: "optimizer Lion: beta_1 0.0 is outside (0, 1]"),
        Case(layer: optimizer("Adam", #""learning_rate": 0.001, "clipnorm": 1.0, "clipvalue": 0.5"#),
             path: "$.config.clipvalue", message: "optimizer Adam: clipvalue 0.5 is set together with clipnorm; Keras allows one clipping option"),
        Case(layer: optimizer("SGD", #""learning_rate": 0.1, "gradient_accumulation_steps": 1"#),
             path: "$.config.gradient_accumulation_steps", message: "optimizer SGD: gradient_accumulation_steps 1 is below 2"),
        Case(layer: optimizer("Adam", #""learning_rate": 0.001, "use_ema": true, "ema_momentum": 1.5"#),
             path: "$.config.ema_momentum", message: "optimizer Adam: ema_momentum 1.5 is outside [0, 1]"),
        Case(layer: optimizer("SGD", #""learning_rate": {"class_name": "PiecewiseConstantDecay", "config": {"boundaries": [10, 20], "values": [0.1, 0.01]}}"#),
             path: "$.config.learning_rate.config.values",
             message: "schedule PiecewiseConstantDecay: values 2 values for 2 boundaries; need one more"),
        Case(layer: optimizer("SGD", #""learning_rate": {"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 100, "warmup_target": 0.2, "warmup_steps": 0}}"#),
             path: "$.config.learning_rate.config.warmup_steps",
             message: "schedule CosineDecay: warmup_steps 0.0 is not positive while warmup_target is set"),
        Case(layer: optimizer("Adam", #""learning_rate": 0.001, "use_ema": true, "ema_overwrite_frequency": 0"#),
             path: "$.config.ema_overwrite_frequency", message: "optimizer Adam: ema_overwrite_frequency 0 is below 1"),
    ]

    @Test("an optimizer or schedule option out of range names its JSON path", arguments: optimizerCases)
    func optimizerOption(_ item: Case) throws {
        let error = #expect(throws: CheckpointError.self) { try OptimizerConfig(kerasJSON: item.layer, file: "opt.json") }
        #expect(error == .invalidModelConfig(file: "opt.json", path: item.path, message: item.message), "got \(String(describing: error))")
    }

    @Test("an optimizer or schedule class Batchwise lacks, and a null optimizer, are refused by path")
    func unknownClasses() throws {
        #expect(throws: CheckpointError.unsupportedOptimizer(file: "opt.json", path: "$.class_name", className: "Adafactor", option: nil, value: nil)) {
            try OptimizerConfig(kerasJSON: Self.optimizer("Adafactor", #""learning_rate": 0.001"#), file: "opt.json")
        }
        #expect(throws: CheckpointError.unsupportedOptimizer(file: "opt.json", path: "$.config.learning_rate.class_name",
                                                             className: "MySchedule", option: nil, value: nil)) {
            try OptimizerConfig(kerasJSON: Self.optimizer("SGD", #""learning_rate": {"class_name": "MySchedule", "config": {}}"#), file: "opt.json")
        }
        #expect(throws: CheckpointError.invalidModelConfig(file: "opt.json", path: "$", message: "null is not an optimizer")) {
            try OptimizerConfig(kerasJSON: "null", file: "opt.json")
        }
        #expect(throws: CheckpointError.unsupportedOptimizer(file: "opt.json", path: "$.config.gradient_accumulation_steps",
                                                             className: "SGD", option: "gradient_accumulation_steps", value: "two")) {
            try OptimizerConfig(kerasJSON: Self.optimizer("SGD", #""gradient_accumulation_steps": "two""#), file: "opt.json")
        }
        // The same optimizers with valid options load.
        #expect(throws: Never.self) { try OptimizerConfig(kerasJSON: Self.optimizer("Lion", #""beta_1": 0.9"#), file: "opt.json") }
    }
}
