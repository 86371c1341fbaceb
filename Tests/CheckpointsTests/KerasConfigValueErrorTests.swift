import Foundation
import Testing
import Training
@testable import Checkpoints

/// Keras configs whose option values have the wrong type or an impossible value, and a
/// Sequential config that names two layers alike: each is a `CheckpointError` naming the
/// file and the JSON path (and the optimizer, schedule or layer with its value). The stop-19
/// suites (KerasOptionErrorTests) left these checks unreached.
@Suite("Keras option values of the wrong type or impossible size name their JSON path")
struct KerasConfigValueErrorTests {
    static func optimizer(_ className: String, _ config: String) -> String {
        #"{"module": "keras.optimizers", "class_name": "\#(className)", "config": {\#(config)}, "registered_name": null}"#
    }

    static func model(_ layers: String, input: String = "[null, 4, 4, 1]") -> String {
        """
        {"class_name": "Sequential", "config": {"name": "s", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": \(input), "name": "input_1"}},
          \(layers)]}}
        """
    }

    @Test("a numeric optimizer option given as text names the optimizer, option and value")
    func optionOfTheWrongType() throws {
        #expect(throws: CheckpointError.unsupportedOptimizer(file: "opt.json", path: "$.config.weight_decay",
                                                             className: "AdamW", option: "weight_decay", value: "lots")) {
            try OptimizerConfig(kerasJSON: Self.optimizer("AdamW", #""learning_rate": 0.001, "weight_decay": "lots""#), file: "opt.json")
        }
        #expect(throws: Never.self) {
            try OptimizerConfig(kerasJSON: Self.optimizer("AdamW", #""learning_rate": 0.001, "weight_decay": 0.01"#), file: "opt.json")
        }
    }

    @Test("a decay schedule with decay_steps 0 names the schedule and its path")
    func zeroDecaySteps() throws {
        let json = Self.optimizer("SGD", #""learning_rate": {"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.9}}"#)
        let error = #expect(throws: CheckpointError.self) { try OptimizerConfig(kerasJSON: json, file: "opt.json") }
        #expect(error == .invalidModelConfig(file: "opt.json", path: "$.config.learning_rate.config.decay_steps",
                                             message: "schedule ExponentialDecay: decay_steps 0.0 is not positive"),
                "got \(String(describing: error))")
    }

    /// Rescaling's own "is not finite" check is shadowed: JSON has no infinity, and the reader
    /// refuses a number that overflows to one before any layer sees it, naming the number.
    @Test("a Rescaling scale that overflows to infinity is refused by the JSON reader, naming the number")
    func infiniteRescaling() throws {
        let json = Self.model(#"{"class_name": "Rescaling", "config": {"name": "r", "scale": 1e999, "offset": 0.0}}"#)
        let error = #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: json, file: "m.json") }
        guard case let .invalidModelConfig(file, path, message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == "m.json" && path == "$" && message.hasPrefix("not valid JSON: ") && message.contains("1e999"), "\(message)")
    }

    @Test("two layers of one name in a Sequential config name the layer")
    func duplicateLayerNames() throws {
        let json = Self.model(#"{"class_name": "Flatten", "config": {"name": "d"}}, {"class_name": "Dense", "config": {"name": "d", "units": 2}}"#)
        let error = #expect(throws: CheckpointError.self) { try KerasModelConfig.model(fromJSON: json, file: "m.json") }
        #expect(error == .invalidModelConfig(file: "m.json", path: "$.config.layers", message: "layer 'd': two layers are named 'd'"),
                "got \(String(describing: error))")
    }
}
