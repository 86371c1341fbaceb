import Tensors

/// Something `fit` consults after every step and every epoch: early stopping, NaN guards,
/// hooks and checkpoints are all callbacks.
///
/// Callbacks are values; `fit` keeps its own copies and calls them in order. A callback
/// that needs the full training state (to save a checkpoint) calls the `snapshot` closure,
/// so nobody pays for building a snapshot unless it is used.
///
/// ```swift
/// struct PrintEveryEpoch: TrainingCallback {
///     mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot)
///         throws -> CallbackDecision {
///         print(event.epoch, event.logs["loss"] ?? 0)
///         return .proceed
///     }
/// }
/// ```
public protocol TrainingCallback: Sendable {
    /// Called once by `fit` before its first step (after a resumed callback's state is
    /// restored), so that a callback can refuse what it was given — a file it cannot continue,
    /// an option that does not fit the run — before any epoch is spent (Keras's
    /// `on_train_begin`). An error thrown here ends `fit` before training starts.
    mutating func trainingWillBegin() throws
    /// Called after each optimizer step.
    mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision
    /// Called after each epoch, once validation has run.
    mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision
    /// Called once when training ends (normally or stopped); may hand back a model to keep
    /// instead of the last one (early stopping's "restore best").
    mutating func trainingDidEnd(model: Sequential) -> Sequential?
    /// Called once when training stops early — a callback returned `.stop` after a step or an
    /// epoch, or the data ran out — with the exact position it stopped at; `snapshot()` returns
    /// that position (mid-epoch: the epoch, the steps taken in it, the pipeline's position and
    /// the running sums). A stop inside an epoch is reported here before that epoch's partial
    /// logs reach ``epochDidEnd(_:snapshot:)``; ``CheckpointCallback`` saves here.
    mutating func trainingDidStop(_ event: StopEvent, snapshot: () throws -> TrainingSnapshot) throws
    /// Asked once by a `fit` resumed from a snapshot, after ``trainingWillBegin()`` and before
    /// any step, with the snapshot's position: the reason the run that wrote the snapshot stopped
    /// right there, when the callback's restored state says it did, or `nil` (the default) to
    /// train on. A resumed snapshot taken where a callback decided to stop (the end-of-epoch
    /// checkpoint of the epoch ``EarlyStopping`` stopped after) would otherwise train further
    /// epochs the uninterrupted run never trained: a silently different result.
    ///
    /// When any callback answers with a reason, `fit` trains no further step or epoch and ends
    /// as the uninterrupted run ended: ``Trainer/stopReason`` is that reason, the optimizer
    /// finalizes the model and ``trainingDidEnd(model:)`` is called (a restored best model is
    /// handed back), and the returned History is the snapshot's (every epoch the stopped run
    /// trained). ``trainingDidStop(_:snapshot:)`` is not called again: the run that stopped
    /// announced the stop (and a ``CheckpointCallback`` saved it) at this very position.
    ///
    /// A callback that stops inside an epoch needs none: its snapshot is mid-epoch, and the
    /// resumed run decides again, the same way, when it gets there (``TerminateOnNonFiniteLoss``,
    /// a `.stop` of your own after a given step); ``TimeBudgetStop`` stops a run on purpose so that
    /// a resume continues it. A callback of your own that returns `.stop` from
    /// ``epochDidEnd(_:snapshot:)`` does need it: the resumed run starts after that epoch and never
    /// judges it again. Keep what decided the stop in its state (``ResumableCallback``) and answer
    /// here when `position` is the boundary after that epoch, as ``EarlyStopping`` does.
    func stopReason(resumingAt position: ResumePosition) -> String?
}

extension TrainingCallback {
    public mutating func trainingWillBegin() throws {}
    public mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot)
        throws -> CallbackDecision { .proceed }
    public mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot)
        throws -> CallbackDecision { .proceed }
    public mutating func trainingDidEnd(model: Sequential) -> Sequential? { nil }
    public mutating func trainingDidStop(_ event: StopEvent, snapshot: () throws -> TrainingSnapshot) throws {}
    public func stopReason(resumingAt position: ResumePosition) -> String? { nil }
}

/// What a callback tells `fit` to do next.
///
/// ```swift
/// struct StopWhenAccurate: TrainingCallback {
///     mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot)
///         throws -> CallbackDecision {
///         (event.logs["val_accuracy"] ?? 0) > 0.99 ? .stop(reason: "good enough") : .proceed
///     }
/// }
/// ```
public enum CallbackDecision: Sendable, Equatable {
    /// Keep training.
    case proceed
    /// Stop after this step or epoch; the trainer reports the reason in
    /// ``Trainer/stopReason``.
    case stop(reason: String)
    /// Keep training with the learning rate multiplied by `factor` but not below `minimum`
    /// (``ReduceLROnPlateau``); refused for an optimizer whose rate is a schedule, as Keras does.
    case scaleLearningRate(factor: Double, minimum: Double)
}

/// The end of one optimizer step, as ``TrainingCallback/stepDidEnd(_:snapshot:)`` sees it.
///
/// ```swift
/// if event.globalStep % 100 == 0 { print("step", event.globalStep, "loss", event.loss) }
/// ```
public struct StepEvent: Sendable {
    /// Zero-based epoch.
    public let epoch: Int
    /// One-based step within the epoch.
    public let step: Int
    /// Steps completed since training began (over all epochs and resumes).
    public let globalStep: Int
    /// This step's batch loss.
    public let loss: Float
    /// The batch's features (shared storage, not a copy), so that a callback can say which
    /// row made the loss non-finite.
    public let inputs: Tensor<Float>
    /// The batch's targets, row for row with ``inputs``.
    public let targets: Tensor<Float>

    /// The event `fit` (or the data-parallel `fit`, Distributed) hands its callbacks.
    package init(epoch: Int, step: Int, globalStep: Int, loss: Float, inputs: Tensor<Float>, targets: Tensor<Float>) {
        (self.epoch, self.step, self.globalStep, self.loss, self.inputs, self.targets) = (epoch, step, globalStep, loss, inputs, targets)
    }
}

/// The end of one epoch, after validation, as ``TrainingCallback/epochDidEnd(_:snapshot:)``
/// and ``EpochHook`` see it.
///
/// ```swift
/// let log = EpochHook { event in print(event.epoch + 1, event.logs["val_loss"] ?? .nan) }
/// ```
public struct EpochEvent: Sendable {
    /// Zero-based epoch that just finished.
    public let epoch: Int
    /// The epoch's logs (`loss`, metrics, `val_...`).
    public let logs: [String: Double]
    /// The model after the epoch.
    public let model: Sequential
    /// `false` when training stopped inside this epoch (a callback's `.stop`, or the data ran out
    /// before `stepsPerEpoch`): the logs cover only the steps taken, without validation, and the
    /// position is not an epoch boundary (``TrainingCallback/trainingDidStop(_:snapshot:)`` had it).
    public let isComplete: Bool

    package init(epoch: Int, logs: [String: Double], model: Sequential, isComplete: Bool = true) {
        self.epoch = epoch
        self.logs = logs
        self.model = model
        self.isComplete = isComplete
    }
}

/// Where training stopped, as ``TrainingCallback/trainingDidStop(_:snapshot:)`` sees it.
///
/// ```swift
/// print("stopped at epoch \(stop.epoch + 1) after step \(stop.stepInEpoch): \(stop.reason)")
/// ```
public struct StopEvent: Sendable {
    /// Zero-based epoch training stopped in (the next one, when `stepInEpoch` is 0).
    public let epoch: Int
    /// Steps taken in `epoch` when training stopped; 0 at an epoch boundary.
    public let stepInEpoch: Int
    /// Steps completed since training began (over all epochs and resumes).
    public let globalStep: Int
    /// Why training stopped, as ``Trainer/stopReason`` reports it.
    public let reason: String

    /// The event `fit` (or the data-parallel `fit`, Distributed) hands its callbacks.
    package init(epoch: Int, stepInEpoch: Int, globalStep: Int, reason: String) {
        (self.epoch, self.stepInEpoch, self.globalStep, self.reason) = (epoch, stepInEpoch, globalStep, reason)
    }
}

/// Where a resumed `fit` starts (its snapshot's position), as
/// ``TrainingCallback/stopReason(resumingAt:)`` sees it.
///
/// ```swift
/// let position = ResumePosition(epoch: 3, stepInEpoch: 0, globalStep: 24)
/// if position.isEpochBoundary { print("resuming before epoch \(position.epoch + 1)") }
/// ```
public struct ResumePosition: Sendable, Equatable {
    /// Zero-based epoch the resumed `fit` continues in (the next one, when `stepInEpoch` is 0).
    public let epoch: Int
    /// Steps already taken in `epoch`; 0 at an epoch boundary.
    public let stepInEpoch: Int
    /// Steps completed since training began (over all epochs and resumes).
    public let globalStep: Int

    /// Whether the snapshot was taken between epochs, the only place an epoch-end decision
    /// (``EarlyStopping``'s) can have stopped training: a mid-epoch snapshot is never one.
    public var isEpochBoundary: Bool { stepInEpoch == 0 }

    /// The position of `snapshot`.
    public init(_ snapshot: TrainingSnapshot) {
        (epoch, stepInEpoch, globalStep) = (snapshot.epoch, snapshot.stepInEpoch, snapshot.globalStep)
    }

    /// A position by its numbers (for callbacks driven by hand in tests).
    public init(epoch: Int, stepInEpoch: Int, globalStep: Int) {
        (self.epoch, self.stepInEpoch, self.globalStep) = (epoch, stepInEpoch, globalStep)
    }
}
