/// A weighted running mean, as Keras's loss tracker: `update(value: loss, weight: batchSize)`.
///
/// ```swift
/// var loss = MeanMetric(name: "loss")
/// loss.update(value: 0.5, weight: 32)
/// loss.update(value: 0.2, weight: 8)
/// loss.result     // (0.5·32 + 0.2·8) / 40 = 0.44
/// ```
public struct MeanMetric: Sendable, Equatable {
    /// The name the mean is reported under.
    public let name: String
    /// The weighted sum of the values so far.
    public private(set) var total = 0.0
    /// The total weight so far.
    public private(set) var count = 0.0

    /// An empty mean, reported under `name`.
    public init(name: String = "mean") { self.name = name }

    /// Adds `value` with `weight` (a batch's size, so the mean is over rows, not batches).
    public mutating func update(value: Double, weight: Double = 1) {
        total += value * weight
        count += weight
    }

    /// The weighted mean so far, 0 before any value.
    public var result: Double { count == 0 ? 0 : total / count }

    /// Forgets every value, for the next epoch.
    public mutating func reset() {
        total = 0
        count = 0
    }
}
