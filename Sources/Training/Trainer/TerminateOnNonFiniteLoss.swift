/// Ends training at the first step whose loss is NaN or infinite (Keras's `TerminateOnNaN`),
/// naming the epoch, the step and the cause: the first batch row and column holding a
/// non-finite feature or target, or the model itself when the batch is finite.
///
/// `.stop` (the default) ends `fit` normally with ``Trainer/stopReason`` set; `.throwError`
/// makes `fit` throw ``TrainingError/nonFiniteLoss(epoch:step:loss:cause:)``, so that nothing
/// after it (a checkpoint callback listed later, a final save) sees the non-finite weights.
///
/// It keeps no state and needs no ``TrainingCallback/stopReason(resumingAt:)``: a snapshot holding
/// the non-finite weights is never saved (``CheckpointCallback``), so a resume starts from the last
/// finite checkpoint, trains the same steps again and stops at the same step, as the
/// uninterrupted run did.
///
/// ```swift
/// try trainer.fit(data, epochs: 10, callbacks: [TerminateOnNonFiniteLoss()])
/// trainer.stopReason   // "loss became nan at epoch 3, step 17: batch row 4, feature column 2 is nan"
/// try trainer.fit(data, epochs: 10, callbacks: [TerminateOnNonFiniteLoss(action: .throwError),
///                                                      checkpoints.callback(frequency: .everyEpoch)])
/// ```
public struct TerminateOnNonFiniteLoss: TrainingCallback {
    /// What to do with a non-finite loss.
    public enum Action: Sendable, Equatable {
        /// End training after this step, like Keras's `TerminateOnNaN` (``Trainer/stopReason`` says why).
        case stop
        /// Throw ``TrainingError/nonFiniteLoss(epoch:step:loss:cause:)`` naming the first bad value.
        case throwError
    }

    /// What happens when the loss is NaN or infinite.
    public let action: Action

    /// `.stop` by default, as Keras's `TerminateOnNaN`.
    public init(action: Action = .stop) { self.action = action }

    public mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot)
        throws -> CallbackDecision {
        guard !event.loss.isFinite else { return .proceed }
        let cause = NonFiniteCause(inputs: event.inputs, targets: event.targets)
        switch action {
        case .stop:
            return .stop(reason: "loss became \(event.loss) at epoch \(event.epoch + 1), step \(event.step): \(cause)")
        case .throwError:
            throw TrainingError.nonFiniteLoss(epoch: event.epoch + 1, step: event.step, loss: event.loss, cause: cause)
        }
    }
}
