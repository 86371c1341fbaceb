/// What `fit` recorded: one value per epoch for every logged quantity.
///
/// Keys follow Keras: `loss`, `accuracy`, and with validation data `val_loss`,
/// `val_accuracy`. Values are `Double` means over the epoch's steps.
///
/// ```swift
/// let history = try trainer.fit(train, epochs: 10, stepsPerEpoch: 313)
/// history["val_accuracy"]?.last   // the final validation accuracy
/// ```
public struct History: Sendable, Equatable, Codable {
    /// The epoch-by-epoch values, by name.
    public private(set) var values: [String: [Double]] = [:]
    /// The epochs that ran (zero-based), in order.
    public private(set) var epochs: [Int] = []

    /// An empty history, before the first epoch.
    public init() {}

    /// The series for one quantity, or `nil` if it was never logged.
    public subscript(name: String) -> [Double]? { values[name] }

    /// The names that were logged, sorted so output is stable.
    public var names: [String] { values.keys.sorted() }

    /// Appends one epoch's logs.
    public mutating func record(epoch: Int, logs: [String: Double]) {
        epochs.append(epoch)
        for (name, value) in logs { values[name, default: []].append(value) }
    }

    /// Drops every epoch at or after `epoch`, used when resuming from a checkpoint.
    public mutating func truncate(toEpochsBefore epoch: Int) {
        let keep = epochs.filter { $0 < epoch }.count
        epochs = Array(epochs.prefix(keep))
        for name in values.keys { values[name] = Array(values[name]!.prefix(keep)) }
    }
}
