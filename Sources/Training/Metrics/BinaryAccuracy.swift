import Tensors

/// The fraction of outputs on the right side of the threshold, predicting `p > threshold`
/// (strictly, as Keras) and comparing with 0/1 targets; a sample's score is its mean
/// over outputs.
///
/// ```swift
/// var accuracy = BinaryAccuracy()
/// try accuracy.update(predictions: Tensor([0.5, 0.5, 0.5000001, 0.4999]).reshaped(to: [4, 1]),
///                     targets: Tensor([1, 0, 1, 0]).reshaped(to: [4, 1]))
/// accuracy.result    // 0.75
/// ```
public struct BinaryAccuracy: Metric {
    public let name: String
    /// Predictions above it count as 1 (Keras's default 0.5).
    public let threshold: Float
    private var tracker = MeanMetric()

    /// Reported under `name`, and `val_` + `name` for validation.
    public init(name: String = "accuracy", threshold: Float = 0.5) {
        self.name = name
        self.threshold = threshold
    }

    public mutating func update(predictions: Tensor<Float>, targets: Tensor<Float>) throws {
        guard predictions.rank == 2, targets.scalarCount == predictions.scalarCount,
              targets.rank >= 1, targets.shape[0] == predictions.shape[0] else {
            throw TrainingError.targetsMismatch(loss: name, predictions: predictions.shape, targets: targets.shape)
        }
        let n = predictions.shape[0], c = predictions.shape[1]
        guard n > 0, c > 0 else { return }
        var correct = 0.0
        predictions.withUnsafeBufferPointer { p in
            targets.withUnsafeBufferPointer { t in
                for row in 0..<n {
                    var hits = 0
                    for k in 0..<c where (p[row * c + k] > threshold ? 1 : 0) == t[row * c + k] { hits += 1 }
                    correct += Double(hits) / Double(c)
                }
            }
        }
        tracker.update(value: correct / Double(n), weight: Double(n))
    }

    public var result: Double { tracker.result }
    public mutating func reset() { tracker.reset() }
}
