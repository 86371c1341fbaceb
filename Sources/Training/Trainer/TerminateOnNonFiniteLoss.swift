/// Stops training at the first step whose loss is NaN or infinite, naming the epoch and step
/// (Keras's `TerminateOnNaN`, with the position in the message).
///
/// ```swift
/// try trainer.fit(data, epochs: 10, callbacks: [TerminateOnNonFiniteLoss()])
/// trainer.stopReason   // "loss became nan at epoch 3, step 17"
/// ```
public struct TerminateOnNonFiniteLoss: TrainingCallback {
    /// Keras's `TerminateOnNaN`; it has no settings.
    public init() {}

    public mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot)
        throws -> CallbackDecision {
        guard !event.loss.isFinite else { return .proceed }
        return .stop(reason: "loss became \(event.loss) at epoch \(event.epoch + 1), step \(event.step)")
    }
}
