import Tensors

/// A metric accumulated over batches: ``update(predictions:targets:)`` after each batch,
/// ``result`` for the running value, ``reset()`` at epoch boundaries.
///
/// ```swift
/// var accuracy: any Metric = BinaryAccuracy()
/// try accuracy.update(predictions: p, targets: y)
/// print(accuracy.name, accuracy.result)   // "accuracy" 0.75
/// accuracy.reset()
/// ```
public protocol Metric: Sendable {
    /// The Keras log key (`"accuracy"`).
    var name: String { get }
    /// Adds one batch.
    mutating func update(predictions: Tensor<Float>, targets: Tensor<Float>) throws
    /// The value over everything since the last reset (0 before any update).
    var result: Double { get }
    /// Forgets every batch.
    mutating func reset()
}
