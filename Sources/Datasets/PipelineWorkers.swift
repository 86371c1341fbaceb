import Foundation

/// Counts the background work that pipelines started inside one ``counting(_:)`` scope and that
/// is still running: prefetch producer threads, unordered-map worker loops and ordered-map
/// transform calls.
///
/// Tests use it to wait for exactly their own pipelines' threads to end. A process-wide count
/// (of threads, or of producers) also sees the pipelines of every other suite running at the
/// same time, so waiting for it to drop is a timing assumption. A stage records the gauge that
/// is current when it starts its work and makes that gauge current on its own threads, so the
/// stages nested inside a prefetch count towards the same gauge. Outside any scope (every
/// production pipeline) nothing is counted.
///
/// ```swift
/// let workers = PipelineWorkers()
/// try workers.counting {
///     var it = RangeDataset(0..<100).prefetch(4).makeIterator()
///     _ = try it.next()
/// }                                            // the iterator is gone...
/// workers.waitUntilAllEnded(timeout: 10)       // ...and so, soon, is its producer
/// ```
final class PipelineWorkers: @unchecked Sendable {
    /// The gauge new pipeline work counts towards on this thread or task, if any.
    @TaskLocal static var current: PipelineWorkers?

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var running = 0
    private var everStarted = 0

    init() {}

    /// Runs `body` with this gauge current, so the pipelines it starts are counted.
    func counting<T>(_ body: () throws -> T) rethrows -> T {
        try Self.$current.withValue(self, operation: body)
    }

    /// Work counted so far that has not ended.
    var live: Int { condition.withLock { running } }

    /// Work counted so far, ended or not (a test checks that its pipeline started any).
    var started: Int { condition.withLock { everStarted } }

    func began() {
        condition.withLock {
            running += 1
            everStarted += 1
        }
    }

    func ended() {
        condition.withLock {
            running -= 1
            if running == 0 { condition.broadcast() }
        }
    }

    /// Runs `body` (on a pipeline's own thread) with `workers` current, counted from
    /// `began()`, which the caller made before handing the work off, to its end.
    static func run(countedBy workers: PipelineWorkers?, _ body: () -> Void) {
        guard let workers else { return body() }
        $current.withValue(workers, operation: body)
        workers.ended()
    }

    /// Waits until no counted work runs. `false` if some still runs after `timeout` seconds:
    /// the timeout only keeps a leak from hanging the test, nothing waits for it to pass.
    @discardableResult
    func waitUntilAllEnded(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while running > 0 {
            if !condition.wait(until: deadline) { return running == 0 }
        }
        return true
    }
}
