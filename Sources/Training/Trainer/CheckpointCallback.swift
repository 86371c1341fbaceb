/// Hands a ``TrainingSnapshot`` to a save function on a schedule: every N steps, every epoch,
/// or whenever a monitored quantity reaches a new best.
///
/// The callback decides *when*; the save function decides *where and how* (the checkpoint
/// module writes snapshots to HDF5 atomically).
///
/// ```swift
/// let checkpoints = CheckpointCallback(frequency: .everySteps(500)) { snapshot in
///     try save(snapshot, to: url)
/// }
/// ```
public struct CheckpointCallback: TrainingCallback {
    /// When to save.
    public enum Frequency: Sendable {
        /// After every `n` optimizer steps, counted over the whole run (mid-epoch checkpoints).
        case everySteps(Int)
        /// At the end of every epoch, after validation.
        case everyEpoch
        /// At the end of an epoch whose `monitor` log improved on every earlier one (`direction` `nil`: minimize names with "loss", maximize the rest).
        case best(monitor: String, direction: EarlyStopping.Direction? = nil)
    }

    /// When snapshots are taken.
    public let frequency: Frequency
    private let save: @Sendable (TrainingSnapshot) throws -> Void
    private var best: Double?

    /// Calls `save` with a snapshot at each point `frequency` names; an error from `save` stops `fit` and reaches its caller.
    public init(frequency: Frequency, save: @escaping @Sendable (TrainingSnapshot) throws -> Void) {
        self.frequency = frequency
        self.save = save
    }

    public mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot)
        throws -> CallbackDecision {
        if case let .everySteps(n) = frequency, n > 0, event.globalStep % n == 0 {
            try save(snapshot())
        }
        return .proceed
    }

    public mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot)
        throws -> CallbackDecision {
        switch frequency {
        case .everySteps:
            break
        case .everyEpoch:
            try save(snapshot())
        case let .best(monitor, direction):
            guard let value = event.logs[monitor] else {
                throw TrainingError.unknownMonitor(callback: "CheckpointCallback", name: monitor,
                                                  available: event.logs.keys.sorted())
            }
            let minimize = (direction ?? .automatic(for: monitor)) == .minimize
            if best == nil || (minimize ? value < best! : value > best!) {
                best = value
                try save(snapshot())
            }
        }
        return .proceed
    }
}
