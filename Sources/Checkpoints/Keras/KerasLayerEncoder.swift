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

    static func inputLayer(width: Int) -> [String: Any] {
        ["module": "keras.layers", "class_name": "InputLayer", "registered_name": NSNull(),
         "config": ["batch_shape": [NSNull(), width], "dtype": "float32", "sparse": false, "ragged": false,
                    "name": "input_layer", "optional": false] as [String: Any]]
    }

    /// The entry for `layer`, whose input width is `inputWidth`.
    static func entry(for layer: any Layer, inputWidth: Int) throws -> [String: Any] {
        var config: [String: Any] = ["name": layer.name, "trainable": layer.isTrainable, "dtype": dtypePolicy()]
        let className: String
        switch layer {
        case let dense as Dense:
            className = "Dense"
            config["units"] = dense.units
            config["activation"] = dense.activation.kerasName
            config["use_bias"] = dense.useBias
            config["kernel_initializer"] = initializer("GlorotUniform", seeded: true)
            config["bias_initializer"] = initializer("Zeros")
            for key in ["kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"] { config[key] = NSNull() }
        case let bn as BatchNormalization:
            className = "BatchNormalization"
            config["axis"] = -1
            config["momentum"] = bn.momentum
            config["epsilon"] = bn.epsilon
            config["center"] = bn.center
            config["scale"] = bn.scale
            config["beta_initializer"] = initializer("Zeros")
            config["gamma_initializer"] = initializer("Ones")
            config["moving_mean_initializer"] = initializer("Zeros")
            config["moving_variance_initializer"] = initializer("Ones")
            for key in ["beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"] { config[key] = NSNull() }
            config["synchronized"] = false
        case let dropout as Dropout:
            className = "Dropout"
            config["rate"] = dropout.rate
            config["seed"] = NSNull()
            config["noise_shape"] = NSNull()
        case let activation as ActivationLayer:
            className = "Activation"
            config["activation"] = activation.activation.kerasName
        case is ReLU:
            className = "ReLU"
            config["max_value"] = NSNull()
            config["negative_slope"] = 0.0
            config["threshold"] = 0.0
        case is Softmax:
            className = "Softmax"
            config["axis"] = -1
        case is Flatten:
            className = "Flatten"
            config["data_format"] = "channels_last"
        default:
            throw CheckpointError.unsupported(
                file: "", what: "layer '\(layer.name)' (\(layer.typeName)) has no Keras equivalent")
        }
        var entry: [String: Any] = ["module": "keras.layers", "class_name": className, "config": config,
                                    "registered_name": NSNull()]
        // Keras records a build shape only for layers with a `build` step (those with variables,
        // and Flatten); Dropout, Activation, ReLU and Softmax entries have no build_config.
        if layer is Dense || layer is BatchNormalization || layer is Flatten {
            entry["build_config"] = ["input_shape": [NSNull(), inputWidth]]
        }
        return entry
    }
}
