import Tensors

/// The fraction of rows whose prediction argmax equals the one-hot target's argmax
/// (ties go to the first index, as Keras).
///
/// ```swift
/// var accuracy = CategoricalAccuracy()
/// try accuracy.update(predictions: p, targets: oneHot)
/// ```
public struct CategoricalAccuracy: Metric {
    public let name: String
    private var tracker = MeanMetric()

    /// Reported under `name`, and `val_` + `name` for validation.
    public init(name: String = "accuracy") { self.name = name }

    public mutating func update(predictions: Tensor<Float>, targets: Tensor<Float>) throws {
        guard predictions.rank == 2, targets.shape == predictions.shape else {
            throw TrainingError.targetsMismatch(loss: name, predictions: predictions.shape, targets: targets.shape)
        }
        let n = predictions.shape[0], c = predictions.shape[1]
        guard n > 0, c > 0 else { return }
        var correct = 0
        predictions.withUnsafeBufferPointer { p in
            targets.withUnsafeBufferPointer { t in
                for row in 0..<n where argmax(p, row * c, c) == argmax(t, row * c, c) { correct += 1 }
            }
        }
        tracker.update(value: Double(correct) / Double(n), weight: Double(n))
    }

    public var result: Double { tracker.result }
    public mutating func reset() { tracker.reset() }
}

/// The first index of the largest value in `values[offset ..< offset + count]`.
@inline(__always)
func argmax(_ values: UnsafeBufferPointer<Float>, _ offset: Int, _ count: Int) -> Int {
    var best = 0
    for k in 1..<max(count, 1) where values[offset + k] > values[offset + best] { best = k }
    return best
}
