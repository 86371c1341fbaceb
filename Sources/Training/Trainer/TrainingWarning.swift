/// Something legal that `fit` noticed and that is almost certainly not what was meant.
///
/// `fit` checks the model and loss once when it starts, prints each warning as a line of its
/// progress output (unless `progress` is `.quiet`) and keeps them in ``Trainer/warnings``
/// until the next `fit`, so that scripts and tests can inspect them.
///
/// ```swift
/// var trainer = Trainer(model: softmaxModel, optimizer: Adam(),
///                       loss: .sparseCategoricalCrossentropy(fromLogits: true))
/// try trainer.fit(data, epochs: 1, progress: .quiet)
/// trainer.warnings   // [.probabilitiesTreatedAsLogits(loss: "sparse_categorical_crossentropy", ...)]
/// ```
public enum TrainingWarning: Sendable, Hashable, CustomStringConvertible {
    /// The loss takes logits (`fromLogits: true`), but the model's last layer applies
    /// `activation` (sigmoid or softmax), so the loss treats probabilities as raw scores.
    /// A softmax squeezes them into `[0, 1]`, the loss's own softmax of them is nearly
    /// uniform, and with ten classes the loss stays near ln 10 while nothing learns. Keras 3
    /// gives the same warning (`_get_logits` in `backend/tensorflow/nn.py`); like Keras, a
    /// linear output with `fromLogits: false` is not warned about.
    case probabilitiesTreatedAsLogits(loss: String, layer: String, activation: Activation)

    /// One line naming the loss, the layer and the fix.
    public var description: String {
        switch self {
        case let .probabilitiesTreatedAsLogits(loss, layer, activation):
            return "\(loss) was given fromLogits: true, but layer '\(layer)' ends in \(activation.rawValue), "
                + "so its outputs are probabilities, not logits: use fromLogits: false (the trainer then "
                + "computes the loss from the logits itself) or drop the \(activation.rawValue)"
        }
    }

    /// The warnings for training `model` with `loss`, in a stable order.
    static func check(model: Sequential, loss: Loss) -> [TrainingWarning] {
        guard loss.fromLogits, let last = model.layers.last,
              let activation = last.outputActivation, activation == .sigmoid || activation == .softmax else { return [] }
        return [.probabilitiesTreatedAsLogits(loss: loss.kerasName, layer: last.name, activation: activation)]
    }
}
