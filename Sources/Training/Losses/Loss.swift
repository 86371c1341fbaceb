import Tensors

/// A training loss with Keras's math and mean reduction over the batch.
///
/// On probabilities the crossentropies clip to `[1e-7, 1 − 1e-7]` (categorical ones also
/// renormalize rows) exactly as Keras. When a model ends in sigmoid/softmax,
/// ``Sequential/lossAndGradients(x:y:loss:mode:)`` computes the matching crossentropy from
/// the logits instead — which is what Keras does too, and what keeps saturated outputs right.
///
/// ```swift
/// let (loss, _) = try model.lossAndGradients(x: x, y: y, loss: .binaryCrossentropy)
/// let fromScores = Loss.sparseCategoricalCrossentropy(fromLogits: true)
/// let value = try Loss.meanSquaredError.value(predictions: p, targets: t)
/// ```
public struct Loss: Sendable, Hashable {
    /// The loss family.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case binaryCrossentropy = "binary_crossentropy"
        case categoricalCrossentropy = "categorical_crossentropy"
        case sparseCategoricalCrossentropy = "sparse_categorical_crossentropy"
        case meanSquaredError = "mean_squared_error"
    }

    public var kind: Kind
    /// Whether predictions are logits rather than probabilities (crossentropies only).
    public var fromLogits: Bool

    public init(_ kind: Kind, fromLogits: Bool = false) {
        self.kind = kind
        self.fromLogits = fromLogits && kind != .meanSquaredError
    }

    public static let binaryCrossentropy = Loss(.binaryCrossentropy)
    public static let categoricalCrossentropy = Loss(.categoricalCrossentropy)
    public static let sparseCategoricalCrossentropy = Loss(.sparseCategoricalCrossentropy)
    public static let meanSquaredError = Loss(.meanSquaredError)
    public static func binaryCrossentropy(fromLogits: Bool) -> Loss { Loss(.binaryCrossentropy, fromLogits: fromLogits) }
    public static func categoricalCrossentropy(fromLogits: Bool) -> Loss { Loss(.categoricalCrossentropy, fromLogits: fromLogits) }
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
