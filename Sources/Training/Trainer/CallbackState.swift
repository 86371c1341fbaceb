/// What a ``ResumableCallback`` needs to continue exactly where a ``TrainingSnapshot`` was
/// taken: named numbers (counters, best values, a learning rate it set), the settings those
/// numbers mean something for (the monitored log and its direction) and, if it keeps one, a
/// model (``EarlyStopping``'s best weights). Native checkpoints store it under `/callbacks`.
///
/// ```swift
/// let state = CallbackState(values: ["wait": 2, "best": 0.31],
///                           settings: ["monitor": "val_loss", "direction": "minimize"])
/// state.values["wait"]          // 2.0
/// ```
public struct CallbackState: Sendable {
    /// Counters, best values and rates by name; an absent name means "not set yet".
    public var values: [String: Double]
    /// The settings the values were recorded under, by name (e.g. `"monitor"`). A callback
    /// refuses a state whose settings differ from its own — a best `val_loss` is no best
    /// `accuracy` — instead of silently comparing against the wrong number. Empty in states
    /// read from checkpoints written before settings were stored; those are accepted as they are.
    public var settings: [String: String]
    /// A model the callback holds on to, with the architecture of the trained model.
    public var model: Sequential?

    /// A state of `values` recorded under `settings` and, optionally, a kept `model`.
    public init(values: [String: Double] = [:], settings: [String: String] = [:], model: Sequential? = nil) {
        self.values = values
        self.settings = settings
        self.model = model
    }

    /// `values[name]` as a count; 0 when absent.
    func count(_ name: String) -> Int { values[name].map { Int($0) } ?? 0 }

    /// Throws ``TrainingError/incompatibleSnapshot(_:)`` naming `callback` and the first
    /// setting of `current` that the state recorded with another value. A setting the state
    /// does not record (an older checkpoint) is not checked.
    func checkSettings(_ current: [String: String], callback: String) throws {
        for name in current.keys.sorted() {
            guard let saved = settings[name], saved != current[name] else { continue }
            throw TrainingError.incompatibleSnapshot(
                "the \(callback) state was saved with \(name) '\(saved)', but this \(callback) has \(name) '\(current[name]!)'")
        }
    }
}

/// A callback whose progress is part of a ``TrainingSnapshot``, so that a `fit` resumed from
/// it continues the callback as the uninterrupted run would have: ``ReduceLROnPlateau``
/// (waiting and cooldown counters, best value, the learning rate it set), ``EarlyStopping``
/// (epochs waited, best value and epoch, the epoch it stopped after, the best model when it
/// restores it) and ``CheckpointCallback`` (with `.best`, the best value so far).
///
/// `fit` stores each state under ``stateName`` (repeats get `_1`, `_2`, ... in the order of the
/// callbacks; a state with no values and no model is not stored) and, when resuming, gives
/// every resumable callback the state stored under its name before the first step; a callback
/// the snapshot has no state for starts fresh (a checkpoint written before states were saved).
/// A ``CheckpointCallback`` saves at the end of an epoch only after every callback's
/// `epochDidEnd` has run, so its snapshot holds every state after that epoch whatever the order
/// of the list. (A callback of your own that calls `snapshot()` in its `epochDidEnd` sees the
/// callbacks after it in the list as they were before that epoch.)
///
/// ```swift
/// let plateau = try ReduceLROnPlateau(monitor: "val_loss", factor: 0.5, patience: 2)
/// let checkpoints = CheckpointCallback(frequency: .everyEpoch) { try save($0, to: url) }
/// try trainer.fit(data, epochs: 20, validationData: validation, callbacks: [checkpoints, plateau])
/// ```
public protocol ResumableCallback: TrainingCallback {
    /// The name the state is stored under (a single HDF5 link name, e.g. `"ReduceLROnPlateau"`).
    var stateName: String { get }
    /// The state now; `optimizer` is the trainer's (for a learning rate the callback set).
    func resumableState(optimizer: any Optimizer) -> CallbackState
    /// Continues from `state`, as a resumed `fit` does before its first step; may set the
    /// learning rate of `optimizer` back to the one the callback had set.
    mutating func restore(_ state: CallbackState, optimizer: inout any Optimizer) throws
}

extension Array where Element == any TrainingCallback {
    /// The ``ResumableCallback``s by position, each with the name its state is stored under:
    /// ``ResumableCallback/stateName``, with `_1`, `_2`, ... for the second, third, ... of a name.
    func resumableStateNames() -> [(index: Int, name: String)] {
        var seen: [String: Int] = [:]
        return indices.compactMap { index in
            guard let callback = self[index] as? any ResumableCallback else { return nil }
            let base = callback.stateName
            let count = seen[base, default: 0]
            seen[base] = count + 1
            return (index, count == 0 ? base : "\(base)_\(count)")
        }
    }

    /// Every resumable callback's state, by stored name; empty states (nothing to continue) are left out.
    package func resumableStates(optimizer: any Optimizer) -> [String: CallbackState] {
        var states: [String: CallbackState] = [:]
        for (index, name) in resumableStateNames() {
            guard let state = (self[index] as? any ResumableCallback)?.resumableState(optimizer: optimizer),
                  !state.values.isEmpty || state.model != nil else { continue }
            states[name] = state
        }
        return states
    }

    /// Gives each resumable callback the state `states` holds under its name.
    package mutating func restore(_ states: [String: CallbackState], optimizer: inout any Optimizer) throws {
        for (index, name) in resumableStateNames() {
            guard let state = states[name], var callback = self[index] as? any ResumableCallback else { continue }
            try callback.restore(state, optimizer: &optimizer)
            self[index] = callback
        }
    }
}

/// A callback that saves snapshots at the end of an epoch (``CheckpointCallback``). `fit` splits
/// its `epochDidEnd` in two: ``judgeEpoch(_:)`` in list order with the other callbacks, and
/// ``saveJudgedEpoch(_:)`` once every callback has judged the epoch and every learning-rate
/// change is applied, so that the snapshot holds all their states after the epoch.
protocol EpochEndSaver: TrainingCallback {
    /// Updates what the callback keeps from the finished epoch and says whether to save it.
    mutating func judgeEpoch(_ event: EpochEvent) throws -> Bool
    /// Saves the epoch ``judgeEpoch(_:)`` asked for.
    mutating func saveJudgedEpoch(_ snapshot: TrainingSnapshot) throws
}
