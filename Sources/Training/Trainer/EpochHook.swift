/// Runs a closure after every epoch: logging, plotting, custom schedules.
///
/// ```swift
/// let log = EpochHook { event in print("epoch", event.epoch + 1, event.logs) }
/// ```
public struct EpochHook: TrainingCallback {
    private let body: @Sendable (EpochEvent) throws -> Void

    /// A callback that runs `body` after every epoch and never stops training (throw to abort).
    public init(_ body: @escaping @Sendable (EpochEvent) throws -> Void) { self.body = body }

    public mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot)
        throws -> CallbackDecision {
        try body(event)
        return .proceed
    }
}
