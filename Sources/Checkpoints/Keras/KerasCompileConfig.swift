import Foundation
import Training

/// The optimizer and loss of a Keras `compile_config` (Keras 3) or `training_config`
/// (tf.keras), in both directions. Only Adam and SGD map onto Batchwise optimizers.
enum KerasCompileConfig {
    /// Keras's optimizer name and the slot names it stores per trainable variable, in order.
    static func kerasIdentity(of optimizer: any Optimizer) throws -> (name: String, slots: [String]) {
        switch optimizer {
        case is Adam: return ("adam", ["momentum", "velocity"])
        case let sgd as SGD: return ("sgd", sgd.momentum == 0 ? [] : ["momentum"])
        default:
            throw CheckpointError.unsupported(file: "", what: "optimizer \(type(of: optimizer)) has no Keras equivalent")
        }
    }

    /// The `compile_config` object Keras 3 writes.
    static func object(optimizer: (any Optimizer)?, loss: Loss?) throws -> [String: Any] {
        var config: [String: Any] = [
            "loss": NSNull(), "loss_weights": NSNull(), "metrics": NSNull(), "weighted_metrics": NSNull(),
            "run_eagerly": false, "steps_per_execution": 1, "jit_compile": false, "optimizer": NSNull(),
        ]
        if let loss {
            config["loss"] = loss.fromLogits
                ? ["module": "keras.losses", "class_name": lossClassName(loss.kind), "registered_name": NSNull(),
                   "config": ["name": loss.kerasName, "reduction": "sum_over_batch_size", "from_logits": true]] as [String: Any]
                : loss.kerasName
        }
        if let optimizer {
            var options: [String: Any] = ["learning_rate": Double(optimizer.learningRate), "weight_decay": NSNull(),
                                          "clipnorm": NSNull(), "global_clipnorm": NSNull(), "clipvalue": NSNull(),
                                          "use_ema": false, "ema_momentum": 0.99, "ema_overwrite_frequency": NSNull(),
                                          "loss_scale_factor": NSNull(),
                                          "gradient_accumulation_steps": NSNull()]
            let className: String
            switch optimizer {
            case let adam as Adam:
                className = "Adam"
                options["name"] = "adam"
                options["beta_1"] = adam.beta1
                options["beta_2"] = adam.beta2
                options["epsilon"] = adam.epsilon
                options["amsgrad"] = false
            case let sgd as SGD:
                className = "SGD"
                options["name"] = "sgd"
                options["momentum"] = sgd.momentum
                options["nesterov"] = sgd.nesterov
            default:
                throw CheckpointError.unsupported(file: "", what: "optimizer \(type(of: optimizer)) has no Keras equivalent")
            }
            config["optimizer"] = ["module": "keras.optimizers", "class_name": className, "config": options,
                                   "registered_name": NSNull()] as [String: Any]
        }
        return config
    }

    private static func lossClassName(_ kind: Loss.Kind) -> String {
        switch kind {
        case .binaryCrossentropy: return "BinaryCrossentropy"
        case .categoricalCrossentropy: return "CategoricalCrossentropy"
        case .sparseCategoricalCrossentropy: return "SparseCategoricalCrossentropy"
        case .meanSquaredError: return "MeanSquaredError"
        }
    }

    /// The loss of a compile/training config: a Keras name or a serialized loss object.
    static func loss(from value: KerasJSON?) -> (name: String?, loss: Loss?) {
        guard let value else { return (nil, nil) }
        if let name = value.value as? String {
            let aliases = ["mse": "mean_squared_error", "MeanSquaredError": "mean_squared_error",
                           "BinaryCrossentropy": "binary_crossentropy", "CategoricalCrossentropy": "categorical_crossentropy",
                           "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy"]
            return (name, Loss.Kind(rawValue: aliases[name] ?? name).map { Loss($0) })
        }
        guard let className = try? value["class_name"]?.string() else { return (value.text, nil) }
        let snake = ["BinaryCrossentropy": Loss.Kind.binaryCrossentropy, "CategoricalCrossentropy": .categoricalCrossentropy,
                     "SparseCategoricalCrossentropy": .sparseCategoricalCrossentropy, "MeanSquaredError": .meanSquaredError]
        guard let kind = snake[className] else { return (className, nil) }
        let fromLogits = (try? value["config"]?["from_logits"]?.bool()) ?? false
        return (kind.rawValue, Loss(kind, fromLogits: fromLogits))
    }

    /// An Adam or SGD built from a serialized optimizer (`{"class_name": "Adam" | "Custom>Adam", "config": {...}}`);
    /// nil for other optimizers or options Batchwise's optimizers do not have.
    static func optimizer(from value: KerasJSON?) -> (any Optimizer)? {
        guard let value, let rawClass = try? value["class_name"]?.string(), let config = value["config"] else { return nil }
        let className = rawClass.split(separator: ">").last.map(String.init)?.lowercased() ?? ""
        for option in ["weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "loss_scale_factor",
                       "gradient_accumulation_steps"] where config[option] != nil {
            return nil
        }
        if (try? config["use_ema"]?.bool()) == true { return nil }
        guard let learningRate = try? config["learning_rate"]?.number() ?? 0.001 else { return nil }
        switch className {
        case "adam":
            if (try? config["amsgrad"]?.bool()) == true { return nil }
            return Adam(learningRate: Float(learningRate),
                        beta1: (try? config["beta_1"]?.number()) ?? 0.9,
                        beta2: (try? config["beta_2"]?.number()) ?? 0.999,
                        epsilon: (try? config["epsilon"]?.number()) ?? 1e-7)
        case "sgd":
            return SGD(learningRate: Float(learningRate),
                       momentum: (try? config["momentum"]?.number()) ?? 0,
                       nesterov: (try? config["nesterov"]?.bool()) ?? false)
        default:
            return nil
        }
    }
}
