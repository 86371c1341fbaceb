import Tensors

/// The fraction of rows whose prediction argmax (first index on ties) equals the integer
/// label; labels have shape `[N]` or `[N, 1]`.
///
/// ```swift
/// var accuracy = SparseCategoricalAccuracy()
/// try accuracy.update(predictions: p, targets: Tensor([2, 0, 1]))
/// ```
public struct SparseCategoricalAccuracy: Metric {
    public let name: String
    private var tracker = MeanMetric()

    /// Reported under `name`, and `val_` + `name` for validation.
    public init(name: String = "accuracy") { self.name = name }

    public mutating func update(predictions: Tensor<Float>, targets: Tensor<Float>) throws {
        guard predictions.rank == 2, targets.rank >= 1, targets.scalarCount == predictions.shape[0] else {
            throw TrainingError.targetsMismatch(loss: name, predictions: predictions.shape, targets: targets.shape)
        }
        let n = predictions.shape[0], c = predictions.shape[1]
        guard n > 0, c > 0 else { return }
        var correct = 0
        predictions.withUnsafeBufferPointer { p in
            targets.withUnsafeBufferPointer { t in
                for row in 0..<n where Float(argmax(p, row * c, c)) == t[row] { correct += 1 }
            }
        }
        tracker.update(value: Double(correct) / Double(n), weight: Double(n))
    }

    public var result: Double { tracker.result }
    public mutating func reset() { tracker.reset() }
}
