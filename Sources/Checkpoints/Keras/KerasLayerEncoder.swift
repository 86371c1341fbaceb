import Foundation
import Training

/// Writes Batchwise layers as Keras 3 layer entries (the spelling `model.save` produces,
/// minus run-specific details such as `shared_object_id`).
enum KerasLayerEncoder {
    static func dtypePolicy() -> [String: Any] {
        ["module": "keras", "class_name": "DTypePolicy", "config": ["name": "float32"], "registered_name": NSNull()]
    }

    static func initializer(_ className: String, seeded: Bool = false) -> [String: Any] {
        let config: [String: Any] = seeded ? ["seed": NSNull()] : [:]
        return ["module": "keras.initializers", "class_name": className, "config": config, "registered_name": NSNull()]
    }

    static func inputLayer(shape: [Int]) -> [String: Any] {
        ["module": "keras.layers", "class_name": "InputLayer", "registered_name": NSNull(),
         "config": ["batch_shape": [NSNull()] + shape as [Any], "dtype": "float32", "sparse": false, "ragged": false,
                    "name": "input_layer", "optional": false] as [String: Any]]
    }

    /// The entry for `layer`, whose input examples are shaped `inputShape`; the layer writes its own options.
    static func entry(for layer: any Layer, inputShape: [Int]) throws -> [String: Any] {
        let layerType = type(of: layer)
        guard let className = layerType.kerasClassName else {
            throw CheckpointError.unsupported(
                file: "", what: "layer '\(layer.name)' (\(layer.typeName)) has no Keras equivalent")
        }
        var config = ConfigObject(members: ["name": layer.name, "trainable": layer.isTrainable, "dtype": dtypePolicy()])
        layer.encodeKerasConfig(to: &config)
        var entry: [String: Any] = ["module": "keras.layers", "class_name": className, "config": config.members,
                                    "registered_name": NSNull()]
        if layerType.kerasRecordsBuildShape {
            entry["build_config"] = ["input_shape": [NSNull()] + inputShape as [Any]]
        }
        return entry
    }

    /// A layer's `config` object as the `[String: Any]` tree ``JSONText`` serializes.
    struct ConfigObject: KerasConfigWriting {
        var members: [String: Any]

        mutating func set(_ key: String, _ value: Int) { members[key] = value }
        mutating func set(_ key: String, _ value: Double) { members[key] = value }
        mutating func set(_ key: String, _ value: Bool) { members[key] = value }
        mutating func set(_ key: String, _ value: String) { members[key] = value }
        mutating func set(_ key: String, _ value: [Int]) { members[key] = value }
        mutating func set(_ key: String, _ value: [[Int]]) { members[key] = value }
        mutating func setNull(_ key: String) { members[key] = NSNull() }
        mutating func setInitializer(_ key: String, className: String, seeded: Bool) {
            members[key] = initializer(className, seeded: seeded)
        }
    }
}
