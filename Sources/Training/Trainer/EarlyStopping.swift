/// Stops training when a monitored quantity has stopped improving, as Keras's
/// `EarlyStopping` does, and can hand back the best model seen.
///
/// It judges completed epochs only: an epoch that another callback's `.stop` cut short
/// (``EpochEvent/isComplete`` `false`) is ignored. Its state (the epochs waited, the best value
/// and epoch, and with `restoreBest` the best model) is part of a ``TrainingSnapshot``
/// (``ResumableCallback``), so a resumed `fit` stops when the uninterrupted one would.
///
/// ```swift
/// let stop = EarlyStopping(monitor: "val_loss", patience: 5, restoreBest: true)
/// try trainer.fit(data, epochs: 100, validationData: val, callbacks: [stop])
/// ```
public struct EarlyStopping: ResumableCallback {
    /// Whether smaller or larger values are better.
    public enum Direction: Sendable {
        /// Smaller is better (losses) or larger is better (accuracies).
        case minimize, maximize
        /// `minimize` for names containing "loss", otherwise `maximize` (Keras's "auto").
        static func automatic(for monitor: String) -> Direction {
            monitor.contains("loss") ? .minimize : .maximize
        }
    }

    /// The log watched, e.g. `"val_loss"` or `"val_accuracy"`.
    public let monitor: String
    /// Epochs without improvement tolerated before stopping.
    public let patience: Int
    /// The least change that counts as an improvement.
    public let minDelta: Double
    /// Whether smaller or larger values of `monitor` are better.
    public let direction: Direction
    /// Whether the model is reset to its best epoch's weights when training ends.
    public let restoreBest: Bool
    /// The best value seen and the epoch it was seen in.
    public private(set) var best: (value: Double, epoch: Int)?
    private var wait = 0
    private var bestModel: Sequential?

    /// Keras's `EarlyStopping`; `direction` `nil` minimizes names containing "loss" and maximizes the rest.
    public init(monitor: String = "val_loss", patience: Int = 0, minDelta: Double = 0,
                direction: Direction? = nil, restoreBest: Bool = false) {
        self.monitor = monitor
        self.patience = max(0, patience)
        self.minDelta = abs(minDelta)
        self.direction = direction ?? .automatic(for: monitor)
        self.restoreBest = restoreBest
    }

    private func improves(_ value: Double, on reference: Double) -> Bool {
        switch direction {
        case .minimize: return value < reference - minDelta
        case .maximize: return value > reference + minDelta
        }
    }

    public mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot)
        throws -> CallbackDecision {
        // An epoch another stop cut short has partial logs and no validation: nothing to judge.
        guard event.isComplete else { return .proceed }
        guard let value = event.logs[monitor] else {
            throw TrainingError.unknownMonitor(callback: "EarlyStopping", name: monitor,
                                              available: event.logs.keys.sorted())
        }
        wait += 1
        if best == nil || improves(value, on: best!.value) {
            best = (value, event.epoch)
            wait = 0
            if restoreBest { bestModel = event.model }
            return .proceed
        }
        if wait >= patience && event.epoch > 0 {
            return .stop(reason: "early stopping: \(monitor) did not improve for \(wait) epochs "
                + "(best \(best!.value) at epoch \(best!.epoch + 1))")
        }
        return .proceed
    }

    public mutating func trainingDidEnd(model: Sequential) -> Sequential? {
        restoreBest ? bestModel : nil
    }

    /// `"EarlyStopping"`.
    public var stateName: String { "EarlyStopping" }

    /// `wait`, `best` and `best_epoch` once seen, and the best model when it restores it.
    public func resumableState(optimizer: any Optimizer) -> CallbackState {
        var values = ["wait": Double(wait)]
        if let best {
            values["best"] = best.value
            values["best_epoch"] = Double(best.epoch)
        }
        return CallbackState(values: values, settings: stateSettings, model: restoreBest ? bestModel : nil)
    }

    /// The monitored log and its direction: what `best` and `wait` are about.
    private var stateSettings: [String: String] { ["monitor": monitor, "direction": "\(direction)"] }

    /// Takes the counters, best value and best model back.
    public mutating func restore(_ state: CallbackState, optimizer: inout any Optimizer) throws {
        try state.checkSettings(stateSettings, callback: "EarlyStopping")
        wait = state.count("wait")
        best = state.values["best"].map { ($0, state.count("best_epoch")) }
        bestModel = restoreBest ? state.model : nil
    }
}
