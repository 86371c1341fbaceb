/// Stops training when a monitored quantity has stopped improving, as Keras's
/// `EarlyStopping` does, and can hand back the best model seen.
///
/// It judges completed epochs only: an epoch that another callback's `.stop` cut short
/// (``EpochEvent/isComplete`` `false`) is ignored. Its state (the epochs waited, the best value
/// and epoch, and with `restoreBest` the best model) is part of a ``TrainingSnapshot``
/// (``ResumableCallback``), so a resumed `fit` stops when the uninterrupted one would.
///
/// That includes a resume from the snapshot taken where it stopped (the end-of-epoch checkpoint
/// of its last epoch, or the stop's): the state records the epoch it stopped after
/// (`stopped_epoch`), and the resumed `fit` trains no further epoch
/// (``stopReason(resumingAt:)``) — it ends with the uninterrupted run's weights (or, with
/// `restoreBest`, its best ones), its History and its ``Trainer/stopReason``. Without that, the
/// resumed run would judge one more epoch and stop an epoch later, with other weights. A state
/// saved before `stopped_epoch` existed is read by the stop rule instead (the last epoch did not
/// improve and `patience` epochs were waited). A larger `patience` than the stopped run's trains
/// on, as a run with that patience would have; to train past a stop with the same settings,
/// resume without this callback.
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
    /// The zero-based epoch after which it stopped training, if it did.
    private var stoppedEpoch: Int?
    /// Whether the restored state predates `stopped_epoch`, so a stop is read from the counters.
    private var stopUnrecorded = false

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
            stoppedEpoch = event.epoch
            return .stop(reason: stopReason(best: best!))
        }
        return .proceed
    }

    /// The reason it stops with, from the counters after the epoch it stopped after.
    private func stopReason(best: (value: Double, epoch: Int)) -> String {
        "early stopping: \(monitor) did not improve for \(wait) epochs (best \(best.value) at epoch \(best.epoch + 1))"
    }

    /// The stop reason when `position` is the epoch boundary right after the epoch it stopped
    /// after (the restored `stopped_epoch`; for an older state, an epoch after the first that did
    /// not improve on the best, with `patience` epochs waited), so that the resumed `fit` ends
    /// there as the uninterrupted one did. `nil` mid-epoch, and when it had not stopped.
    public func stopReason(resumingAt position: ResumePosition) -> String? {
        let lastEpoch = position.epoch - 1
        guard position.isEpochBoundary, lastEpoch > 0, let best, best.epoch != lastEpoch, wait >= patience,
              stopUnrecorded || stoppedEpoch == lastEpoch else { return nil }
        return stopReason(best: best)
    }

    /// The reason the run that wrote `snapshot` had stopped there, by this callback's settings:
    /// its state under ``stateName`` restored and asked ``stopReason(resumingAt:)`` at the
    /// snapshot's position (what a `fit` resumed from it stops with); `nil` when it had not
    /// stopped there or the snapshot has no such state. Throws as ``restore(_:optimizer:)`` does
    /// for a state of another monitor or direction. `batchwise train` prints Keras's
    /// "Epoch N: early stopping" from it.
    public func stopReason(resumingFrom snapshot: TrainingSnapshot) throws -> String? {
        guard let state = snapshot.callbackStates[stateName] else { return nil }
        var restored = self
        try restored.take(state)
        return restored.stopReason(resumingAt: ResumePosition(snapshot))
    }

    public mutating func trainingDidEnd(model: Sequential) -> Sequential? {
        restoreBest ? bestModel : nil
    }

    /// `"EarlyStopping"`.
    public var stateName: String { "EarlyStopping" }

    /// `wait`, `best` and `best_epoch` once seen, `stopped_epoch` (the epoch it stopped after,
    /// -1 while it has not), and the best model when it restores it.
    public func resumableState(optimizer: any Optimizer) -> CallbackState {
        var values = ["wait": Double(wait), "stopped_epoch": Double(stoppedEpoch ?? -1)]
        if let best {
            values["best"] = best.value
            values["best_epoch"] = Double(best.epoch)
        }
        return CallbackState(values: values, settings: stateSettings, model: restoreBest ? bestModel : nil)
    }

    /// The monitored log and its direction: what `best` and `wait` are about.
    private var stateSettings: [String: String] { ["monitor": monitor, "direction": "\(direction)"] }

    /// Takes the counters, best value, stop and best model back.
    public mutating func restore(_ state: CallbackState, optimizer: inout any Optimizer) throws {
        try take(state)
    }

    /// ``restore(_:optimizer:)`` without the optimizer, which the state does not touch.
    private mutating func take(_ state: CallbackState) throws {
        try state.checkSettings(stateSettings, callback: "EarlyStopping")
        wait = state.count("wait")
        best = state.values["best"].map { ($0, state.count("best_epoch")) }
        bestModel = restoreBest ? state.model : nil
        let stopped = state.values["stopped_epoch"]
        stopUnrecorded = stopped == nil
        stoppedEpoch = stopped.flatMap { $0 >= 0 ? Int($0) : nil }
    }
}
