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
    /// Called after each optimizer step.
    mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision
    /// Called after each epoch, once validation has run.
    mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision
    /// Called once when training ends (normally or stopped); may hand back a model to keep
    /// instead of the last one (early stopping's "restore best").
    mutating func trainingDidEnd(model: Sequential) -> Sequential?
}

extension TrainingCallback {
    public mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot)
        throws -> CallbackDecision { .proceed }
    public mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot)
        throws -> CallbackDecision { .proceed }
    public mutating func trainingDidEnd(model: Sequential) -> Sequential? { nil }
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
}
