import Foundation

/// The workers of `map(parallelism:ordered: false)`: `parallelism` loops on Dispatch that take
/// input elements from a shared list as soon as they are free and post results in the order
/// they finish, so one slow element never holds up the others (unlike the ordered map, whose
/// consumer must wait for the oldest element).
///
/// The consumer owns the bookkeeping of *which* ordinals were delivered (see
/// ``ParallelMapped``); this class only moves work and results between threads.
final class UnorderedMapPool<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    typealias Finished = (ordinal: Int, result: Result<Output, any Error>)

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var work: [(ordinal: Int, element: Input)] = []
    private var workHead = 0
    private var finished: [Finished] = []
    private var finishedHead = 0
    private var cancelled = false
    private var started = false

    private let workers: Int
    private let transform: @Sendable (Input) throws -> Output

    init(workers: Int, transform: @escaping @Sendable (Input) throws -> Output) {
        self.workers = Swift.max(1, workers)
        self.transform = transform
    }

    /// Consumer: hands one element to the first free worker.
    func submit(_ element: Input, ordinal: Int) {
        condition.lock()
        if !started { startWorkers() }
        work.append((ordinal, element))
        condition.signal()
        condition.unlock()
    }

    /// Consumer: the earliest finished result, waiting for one if none is ready (only call
    /// while something is in flight).
    func takeFinished() -> Finished {
        condition.lock()
        defer { condition.unlock() }
        while finishedHead == finished.count { condition.wait() }
        let next = finished[finishedHead]
        finishedHead += 1
        if finishedHead == finished.count { finished.removeAll(keepingCapacity: true); finishedHead = 0 }
        return next
    }

    /// Stops the workers: each exits after the element it is computing, if any.
    func cancel() {
        condition.lock()
        cancelled = true
        work.removeAll()
        workHead = 0
        condition.broadcast()
        condition.unlock()
    }

    private func startWorkers() {
        started = true
        let counted = PipelineWorkers.current
        for _ in 0..<workers {
            counted?.began()
            DispatchQueue.global(qos: .userInitiated).async { [self] in
                PipelineWorkers.run(countedBy: counted) { workerLoop() }
            }
        }
    }

    private func workerLoop() {
        while true {
            condition.lock()
            while workHead == work.count && !cancelled { condition.wait() }
            if cancelled { condition.unlock(); return }
            let item = work[workHead]
            workHead += 1
            if workHead == work.count { work.removeAll(keepingCapacity: true); workHead = 0 }
            condition.unlock()

            let result = Result { try transform(item.element) }

            condition.lock()
            finished.append((item.ordinal, result))
            // The consumer and idle workers share the condition; wake everyone, it is rare
            // enough (once per element) and the parallelism is small.
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// Held by the iterator (and its copies); the workers hold only the pool, so dropping the
/// last iterator copy stops them.
final class UnorderedMapLease<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    let pool: UnorderedMapPool<Input, Output>
    init(_ pool: UnorderedMapPool<Input, Output>) { self.pool = pool }
    deinit { pool.cancel() }
}
