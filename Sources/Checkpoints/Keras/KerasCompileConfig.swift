import Foundation
import Training

/// The optimizer and loss of a Keras `compile_config` (Keras 3) or `training_config`
/// (tf.keras), in both directions; optimizers are serialized by ``KerasOptimizerCodec``.
enum KerasCompileConfig {
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
        if let optimizer { config["optimizer"] = try KerasOptimizerCodec.object(for: optimizer) }
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
}
