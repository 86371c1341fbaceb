#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A bounded single-producer, single-consumer buffer between a prefetch producer thread and
/// its consumer.
///
/// A condition variable signalled and waited on for every element costs a futex wake per
/// hand-off (about 23 µs on a 2-vCPU machine). Here each side first polls an atomic count for a
/// bounded number of rounds, then parks, and the other side signals only when it knows someone
/// is parked. The spin is short so a waiting side does not steal a core for long on 2 cores.
final class HandoffBuffer<Element>: @unchecked Sendable {
    // Guarded by `mutex`.
    private var ring: [Element?]
    private var head = 0
    private var count = 0
    private var finished = false
    private var failure: (any Error)?
    private var consumerParked = false
    private var producerParked = false
    /// Elements handed to the consumer so far, and the replay log for the consumer's position.
    private(set) var delivered: Int
    private var log: ReplayLog

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let notEmpty: UnsafeMutablePointer<pthread_cond_t>
    private let notFull: UnsafeMutablePointer<pthread_cond_t>

    /// Mirrors `count` (and the end) for lock-free polling.
    private let available = Atomic<Int>(0)
    private let ended = Atomic<Bool>(false)
    let cancelled = Atomic<Bool>(false)
    let capacity: Int
    let snapshotInterval: Int
    static var spinLimit: Int { 256 }
    /// After a short spin, a waiting side yields its core this many times before parking: on a
    /// loaded 2-core machine the other side is often runnable but not running, and a yield
    /// lets it run without the futex wake-up (tens of microseconds) that parking costs. (With
    /// the kernel's per-session autogroup scheduling, a long spin takes CPU from the producer
    /// itself: spin 4,000 / no yield measured 75–95k seed batches/s, spin 256 / yield 256
    /// 75–132k, spin 64 / yield 1,024 78–125k, on the same loaded machine.)
    static var yieldLimit: Int { 256 }

    init(capacity: Int, delivered: Int, log: ReplayLog) {
        self.capacity = capacity
        self.ring = Array(repeating: nil, count: capacity)
        self.delivered = delivered
        self.log = log
        self.snapshotInterval = log.interval
        mutex = .allocate(capacity: 1)
        notEmpty = .allocate(capacity: 1)
        notFull = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(notEmpty, nil)
        pthread_cond_init(notFull, nil)
    }

    deinit {
        pthread_cond_destroy(notFull)
        pthread_cond_destroy(notEmpty)
        pthread_mutex_destroy(mutex)
        notFull.deallocate()
        notEmpty.deallocate()
        mutex.deallocate()
    }

    /// Producer: waits for room, then appends. Returns `false` once the consumer has gone.
    func push(_ element: Element, snapshot: (ordinal: Int, state: IteratorState)?) -> Bool {
        var spins = 0
        while available.load(ordering: .acquiring) >= capacity && spins < Self.spinLimit
            && !cancelled.load(ordering: .relaxed) { spins += 1 }
        var yields = 0
        while available.load(ordering: .acquiring) >= capacity && yields < Self.yieldLimit
            && !cancelled.load(ordering: .relaxed) { sched_yield(); yields += 1 }
        pthread_mutex_lock(mutex)
        while count >= capacity && !cancelled.load(ordering: .relaxed) {
            producerParked = true
            pthread_cond_wait(notFull, mutex)
            producerParked = false
        }
        if cancelled.load(ordering: .relaxed) {
            pthread_mutex_unlock(mutex)
            return false
        }
        ring[(head + count) % capacity] = element
        count += 1
        available.store(count, ordering: .releasing)
        if let snapshot {
            log.record(snapshot.ordinal, snapshot.state)
            log.prune(before: delivered)
        }
        if consumerParked { pthread_cond_signal(notEmpty) }
        pthread_mutex_unlock(mutex)
        return true
    }

    /// Producer: no more elements; `error`, if any, reaches the consumer after the buffered ones.
    func finish(error: (any Error)?) {
        pthread_mutex_lock(mutex)
        finished = true
        failure = error
        ended.store(true, ordering: .releasing)
        if consumerParked { pthread_cond_signal(notEmpty) }
        pthread_mutex_unlock(mutex)
    }

    /// Consumer: the next element, `nil` at the end, or the producer's error.
    func pop() throws -> Element? {
        var spins = 0
        while available.load(ordering: .acquiring) == 0 && !ended.load(ordering: .acquiring)
            && spins < Self.spinLimit { spins += 1 }
        var yields = 0
        while available.load(ordering: .acquiring) == 0 && !ended.load(ordering: .acquiring)
            && yields < Self.yieldLimit { sched_yield(); yields += 1 }
        pthread_mutex_lock(mutex)
        while count == 0 && !finished {
            consumerParked = true
            pthread_cond_wait(notEmpty, mutex)
            consumerParked = false
        }
        if count > 0 {
            let element = ring[head].take()
            head = (head + 1) % capacity
            count -= 1
            delivered += 1
            available.store(count, ordering: .releasing)
            if producerParked { pthread_cond_signal(notFull) }
            pthread_mutex_unlock(mutex)
            return element
        }
        let error = failure
        failure = nil
        pthread_mutex_unlock(mutex)
        if let error { throw error }
        return nil
    }

    /// Consumer: the resume point for the elements delivered so far.
    func resumePoint() -> (state: IteratorState, skip: Int) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let point = log.resumePoint(for: delivered)
        return (point.state, delivered - point.ordinal)
    }

    /// Consumer: stop the producer (it exits at its next push, or after its current pull).
    func cancel() {
        cancelled.store(true, ordering: .releasing)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(notFull)
        pthread_mutex_unlock(mutex)
    }
}
