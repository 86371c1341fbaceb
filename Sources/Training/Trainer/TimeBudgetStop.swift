#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Stops training cleanly after the step during which a time budget ran out — also in the
/// middle of an epoch — so that ``CheckpointCallback`` (through
/// ``TrainingCallback/trainingDidStop(_:snapshot:)``) saves the exact position and a resumed
/// `fit` continues bit for bit. The budget counts from when the callback is made.
///
/// A resume continues on purpose (no ``TrainingCallback/stopReason(resumingAt:)``): the budget is
/// this process's, counted from when the callback is made, and a new one starts with the resumed
/// `fit`; that the run that wrote the snapshot ran out of time says nothing about the training.
///
/// The clock is injectable: tests pass one that advances per reading, so nothing depends on
/// wall-clock time.
///
/// ```swift
/// let budget = TimeBudgetStop(seconds: 3600)          // stop after an hour of training
/// try trainer.fit(data, epochs: 100, callbacks: [budget, checkpoints.callback(frequency: .everyEpoch)])
/// ```
public struct TimeBudgetStop: TrainingCallback {
    /// The budget in seconds.
    public let seconds: Double
    private let clock: @Sendable () -> Double
    private let deadline: Double

    /// A budget of `seconds` from now by `clock` (seconds of a monotonic clock by default).
    public init(seconds: Double, clock: @escaping @Sendable () -> Double = TimeBudgetStop.monotonicSeconds) {
        self.seconds = seconds
        self.clock = clock
        deadline = clock() + seconds
    }

    public mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
        clock() >= deadline ? .stop(reason: "time budget of \(seconds) s used up after step \(event.globalStep)") : .proceed
    }

    /// Seconds of `CLOCK_MONOTONIC`, which no wall-clock adjustment moves.
    @Sendable public static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
