import Tensors

/// A training loss with Keras's math and mean reduction over the batch.
///
/// On probabilities the crossentropies clip to `[1e-7, 1 − 1e-7]` (categorical ones also
/// renormalize rows) exactly as Keras. When a model ends in sigmoid/softmax,
/// ``Sequential/trainingStep(x:y:loss:mode:reusing:)`` computes the matching crossentropy from
/// the logits instead — which is what Keras does too, and what keeps saturated outputs right.
/// A `fromLogits: true` loss on such a model is almost always a mistake (the probabilities
/// are treated as scores); `fit` warns about it once (``TrainingWarning``), as Keras does.
///
/// ```swift
/// let (loss, _) = try model.loss(x: x, y: y, loss: .binaryCrossentropy)
/// let fromScores = Loss.sparseCategoricalCrossentropy(fromLogits: true)
/// let value = try Loss.meanSquaredError.value(predictions: p, targets: t)
/// ```
public struct Loss: Sendable, Hashable {
    /// The loss family.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// `-(y·log p + (1 − y)·log(1 − p))`, for sigmoid outputs and 0/1 targets.
        case binaryCrossentropy = "binary_crossentropy"
        /// `-Σ y·log p`, for softmax outputs and one-hot targets.
        case categoricalCrossentropy = "categorical_crossentropy"
        /// `-log p[label]`, for softmax outputs and integer class targets of shape `[N]` or `[N, 1]`.
        case sparseCategoricalCrossentropy = "sparse_categorical_crossentropy"
        /// `mean((p − y)²)` over every element.
        case meanSquaredError = "mean_squared_error"
    }

    /// The loss family.
    public var kind: Kind
    /// Whether predictions are logits rather than probabilities (crossentropies only).
    public var fromLogits: Bool

    /// A loss; `fromLogits: true` when the model outputs raw scores rather than probabilities.
    public init(_ kind: Kind, fromLogits: Bool = false) {
        self.kind = kind
        self.fromLogits = fromLogits && kind != .meanSquaredError
    }

    /// Binary crossentropy on probabilities (a sigmoid output).
    public static let binaryCrossentropy = Loss(.binaryCrossentropy)
    /// Categorical crossentropy on probabilities with one-hot targets.
    public static let categoricalCrossentropy = Loss(.categoricalCrossentropy)
    /// Sparse categorical crossentropy on probabilities with integer class targets.
    public static let sparseCategoricalCrossentropy = Loss(.sparseCategoricalCrossentropy)
    /// Mean squared error.
    public static let meanSquaredError = Loss(.meanSquaredError)
    /// Binary crossentropy; `fromLogits: true` for a model without a final sigmoid.
    public static func binaryCrossentropy(fromLogits: Bool) -> Loss { Loss(.binaryCrossentropy, fromLogits: fromLogits) }
    /// Categorical crossentropy; `fromLogits: true` for a model without a final softmax.
    public static func categoricalCrossentropy(fromLogits: Bool) -> Loss { Loss(.categoricalCrossentropy, fromLogits: fromLogits) }
    /// Sparse categorical crossentropy; `fromLogits: true` for a model without a final softmax.
    public static func sparseCategoricalCrossentropy(fromLogits: Bool) -> Loss {
        Loss(.sparseCategoricalCrossentropy, fromLogits: fromLogits)
    }

    /// The Keras name (`"binary_crossentropy"`, ...).
    public var kerasName: String { kind.rawValue }

    /// The activation this loss fuses with when the model's output layer applies it.
    var fusableActivation: Activation? {
        guard !fromLogits else { return nil }
        switch kind {
        case .binaryCrossentropy: return .sigmoid
        case .categoricalCrossentropy, .sparseCategoricalCrossentropy: return .softmax
        case .meanSquaredError: return nil
        }
    }

    /// The batch-mean loss of `predictions` against `targets`.
    public func value(predictions: Tensor<Float>, targets: Tensor<Float>) throws -> Float {
        try valueAndGradient(predictions: predictions, targets: targets).value
    }

    /// The batch-mean loss and its gradient with respect to `predictions`.
    public func valueAndGradient(
        predictions: Tensor<Float>, targets: Tensor<Float>
    ) throws -> (value: Float, gradient: Tensor<Float>) {
        try LossMath.valueAndGradient(self, predictions: predictions, targets: targets)
    }
}
