/// Hands a ``TrainingSnapshot`` to a save function on a schedule: every N steps, every epoch,
/// or whenever a monitored quantity reaches a new best — and, whatever the schedule, once more
/// where training stops early, so that the newest checkpoint is always where training really was.
///
/// The callback decides *when*; the save function decides *where and how* (the checkpoint
/// module writes snapshots to HDF5 atomically).
///
/// A `.stop` in the middle of an epoch (a time budget, a preemption) saves the exact position —
/// the epoch, the steps taken in it, the pipeline's iterator state and the running sums — so that
/// `fit(..., resumingFrom:)` continues with the next step and ends bit for bit where the
/// uninterrupted run ends; the stopped epoch's partial logs are never saved as a finished epoch.
/// A snapshot holding a NaN or infinite weight or optimizer slot is never saved (neither on
/// schedule nor at a stop, e.g. by ``TerminateOnNonFiniteLoss``): the newest checkpoint stays the
/// last finite one.
///
/// ```swift
/// let checkpoints = CheckpointCallback(frequency: .everySteps(500)) { snapshot in
///     try save(snapshot, to: url)
/// }
/// ```
public struct CheckpointCallback: ResumableCallback {
    /// When to save.
    public enum Frequency: Sendable {
        /// After every `n` optimizer steps, counted over the whole run (mid-epoch checkpoints),
        /// and where training stops.
        case everySteps(Int)
        /// At the end of every epoch, after validation, and where training stops (mid-epoch too).
        case everyEpoch
        /// At the end of an epoch whose `monitor` log improved on every earlier one (`direction` `nil`: minimize names with "loss", maximize the rest).
        /// Only completed epochs count, and a stop saves nothing: the saved model stays the best one.
        case best(monitor: String, direction: EarlyStopping.Direction? = nil)
    }

    /// When snapshots are taken.
    public let frequency: Frequency
    private let save: @Sendable (TrainingSnapshot) throws -> Void
    /// With `.best`, the best value of the monitored log so far (`nil` before the first completed epoch).
    public private(set) var best: Double?
    /// Where the last save was, so that a stop right after a scheduled save does not save twice.
    private var savedPosition: (epoch: Int, stepInEpoch: Int, globalStep: Int)?
    /// False on the ranks of a data-parallel `fit` (Distributed) other than rank 0: the callback
    /// keeps its schedule and state as everywhere, but `save` is called on rank 0 only.
    package var callsSave = true

    /// Calls `save` with a snapshot at each point `frequency` names; an error from `save` stops `fit` and reaches its caller.
    public init(frequency: Frequency, save: @escaping @Sendable (TrainingSnapshot) throws -> Void) {
        self.frequency = frequency
        self.save = save
    }

    public mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot)
        throws -> CallbackDecision {
        if case let .everySteps(n) = frequency, n > 0, event.globalStep % n == 0 {
            try saveIfFinite(snapshot())
        }
        return .proceed
    }

    public mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot)
        throws -> CallbackDecision {
        if try judgeEpoch(event) { try saveIfFinite(snapshot()) }
        return .proceed
    }

    /// Saves the exact stop position (unless it was just saved, or the schedule is `.best`).
    public mutating func trainingDidStop(_ event: StopEvent, snapshot: () throws -> TrainingSnapshot) throws {
        if case .best = frequency { return }
        if let saved = savedPosition, saved == (event.epoch, event.stepInEpoch, event.globalStep) { return }
        try saveIfFinite(snapshot())
    }

    private mutating func saveIfFinite(_ snapshot: TrainingSnapshot) throws {
        guard snapshot.holdsOnlyFiniteValues else { return }
        if callsSave { try save(snapshot) }
        savedPosition = (snapshot.epoch, snapshot.stepInEpoch, snapshot.globalStep)
    }
}

extension CheckpointCallback: EpochEndSaver {
    /// Whether the finished epoch is one to save; with `.best`, a new best becomes ``best``.
    mutating func judgeEpoch(_ event: EpochEvent) throws -> Bool {
        // A stopped epoch's position was saved by `trainingDidStop`; its partial logs are not an epoch's.
        guard event.isComplete else { return false }
        switch frequency {
        case .everySteps:
            return false
        case .everyEpoch:
            return true
        case let .best(monitor, direction):
            guard let value = event.logs[monitor] else {
                throw TrainingError.unknownMonitor(callback: "CheckpointCallback", name: monitor,
                                                  available: event.logs.keys.sorted())
            }
            let minimize = (direction ?? .automatic(for: monitor)) == .minimize
            guard best.map({ minimize ? value < $0 : value > $0 }) ?? true else { return false }
            best = value
            return true
        }
    }

    mutating func saveJudgedEpoch(_ snapshot: TrainingSnapshot) throws {
        try saveIfFinite(snapshot)
    }
}

extension CheckpointCallback {
    /// `"CheckpointCallback"`.
    public var stateName: String { "CheckpointCallback" }

    /// With `.best`, the best value once one was seen; otherwise nothing (no state is stored).
    public func resumableState(optimizer: any Optimizer) -> CallbackState {
        guard case .best = frequency, let best else { return CallbackState() }
        return CallbackState(values: ["best": best], settings: stateSettings)
    }

    /// With `.best`, the monitored log and its direction: what `best` is about.
    private var stateSettings: [String: String] {
        guard case let .best(monitor, direction) = frequency else { return [:] }
        return ["monitor": monitor, "direction": "\(direction ?? .automatic(for: monitor))"]
    }

    /// With `.best`, takes the best value back (none when `state` has none: the next epoch is a new best).
    public mutating func restore(_ state: CallbackState, optimizer: inout any Optimizer) throws {
        guard case .best = frequency else { return }
        try state.checkSettings(stateSettings, callback: "CheckpointCallback")
        best = state.values["best"]
    }
}
