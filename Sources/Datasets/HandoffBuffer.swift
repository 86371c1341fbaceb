#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A bounded single-producer, single-consumer ring between a prefetch producer thread and its
/// consumer, with a way for the consumer to take the producer's work back (``requestPause()``).
///
/// No lock is taken per element. The producer writes a slot and then publishes its count of
/// pushed elements; the consumer publishes its count of taken elements. Each side reads the
/// other's count only when the room (or the run of elements) it saw last is used up, so a
/// consumer that finds several elements waiting takes the whole run with one read of shared
/// state. A side with nothing to do polls briefly, yields its core a few times, then parks on
/// a condition variable; the other side signals only when it sees that flag set (both the flag
/// and the counts are sequentially consistent, so one of the two always sees the other).
///
/// At most `capacity` elements are in the ring: a slot counts as taken only once the consumer
/// has moved its element out.
final class HandoffBuffer<Element>: @unchecked Sendable {
    /// Where the producer stands, as the consumer sees it.
    enum ProducerState: Int {
        case running = 0
        /// Stopped at the consumer's request (``requestPause()``) after publishing everything it
        /// pulled; its input iterator is the consumer's until ``resume()``.
        case paused = 1
        /// The pass ended or failed (``failure``).
        case finished = 2
    }

    /// What ``take()`` found.
    enum Taken {
        case element(Element)
        case paused
        case finished
    }

    let capacity: Int
    private let slots: UnsafeMutablePointer<Element?>

    // Producer side (its own cache lines: the consumer reads `pushed` once per run).
    private let leadingPadding = CacheLinePadding()
    /// Elements pushed so far; slot `n % capacity` holds element `n` before this passes `n`.
    private let pushed = Atomic<Int>(0)
    private var writeIndex = 0
    private var writeLimit = 0
    private let producerPadding = CacheLinePadding()

    // Consumer side.
    /// Elements taken so far; a slot is free for the producer once this has passed it.
    private let taken = Atomic<Int>(0)
    private var readIndex = 0
    private var readLimit = 0
    private let consumerPadding = CacheLinePadding()

    // Rarely written flags.
    private let state = Atomic<Int>(ProducerState.running.rawValue)
    private let pauseWanted = Atomic<Bool>(false)
    private let consumerParked = Atomic<Bool>(false)
    private let producerParked = Atomic<Bool>(false)
    let cancelled = Atomic<Bool>(false)
    /// The producer's error, written before `state` becomes `finished`.
    private var failure: (any Error)?

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let consumerWake: UnsafeMutablePointer<pthread_cond_t>
    private let producerWake: UnsafeMutablePointer<pthread_cond_t>

    static var spinLimit: Int { 256 }
    /// After a short spin, a waiting side yields its core this many times before parking: on a
    /// loaded 2-core machine the other side is often runnable but not running, and a yield
    /// lets it run without the futex wake-up (tens of microseconds) that parking costs. (With
    /// the kernel's per-session autogroup scheduling, a long spin takes CPU from the producer
    /// itself: spin 4,000 / no yield measured 75–95k seed batches/s, spin 256 / yield 256
    /// 75–132k, spin 64 / yield 1,024 78–125k, on the same loaded machine.)
    static var yieldLimit: Int { 256 }

    init(capacity: Int) {
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: nil, count: capacity)
        writeLimit = capacity
        mutex = .allocate(capacity: 1)
        consumerWake = .allocate(capacity: 1)
        producerWake = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(consumerWake, nil)
        pthread_cond_init(producerWake, nil)
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
        pthread_cond_destroy(producerWake)
        pthread_cond_destroy(consumerWake)
        pthread_mutex_destroy(mutex)
        producerWake.deallocate()
        consumerWake.deallocate()
        mutex.deallocate()
    }

    // MARK: Producer

    /// Producer: whether the consumer wants the input back (checked between elements).
    var pauseRequested: Bool { pauseWanted.load(ordering: .relaxed) }

    /// Producer: waits for a free slot, then publishes `element`. Returns `false` once the
    /// consumer has gone.
    func push(_ element: Element) -> Bool {
        if writeIndex == writeLimit {
            writeLimit = taken.load(ordering: .acquiring) + capacity
            if writeIndex == writeLimit && !waitForRoom() { return false }
        }
        slots[writeIndex % capacity] = element
        writeIndex += 1
        pushed.store(writeIndex, ordering: .sequentiallyConsistent)
        if consumerParked.load(ordering: .sequentiallyConsistent) { signal(consumerWake) }
        return true
    }

    /// Producer: no more elements; `error`, if any, reaches the consumer after the pushed ones.
    func finish(error: (any Error)?) {
        failure = error
        publish(.finished)
    }

    /// Producer: stops at the consumer's request with everything it pulled published, and
    /// waits until the consumer hands the input back (`true`) or goes away (`false`).
    func pauseUntilResumed() -> Bool {
        publish(.paused)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        producerParked.store(true, ordering: .sequentiallyConsistent)
        while state.load(ordering: .sequentiallyConsistent) == ProducerState.paused.rawValue
            && !cancelled.load(ordering: .sequentiallyConsistent) {
            pthread_cond_wait(producerWake, mutex)
        }
        producerParked.store(false, ordering: .relaxed)
        return !cancelled.load(ordering: .sequentiallyConsistent)
    }

    private func publish(_ newState: ProducerState) {
        state.store(newState.rawValue, ordering: .sequentiallyConsistent)
        if consumerParked.load(ordering: .sequentiallyConsistent) { signal(consumerWake) }
    }

    private func waitForRoom() -> Bool {
        let hasRoom = { [self] () -> Bool in
            writeLimit = taken.load(ordering: .sequentiallyConsistent) + capacity
            return writeIndex < writeLimit
        }
        for round in 0..<(Self.spinLimit + Self.yieldLimit) {
            if cancelled.load(ordering: .relaxed) { return false }
            if hasRoom() { return true }
            if round >= Self.spinLimit { sched_yield() }
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        producerParked.store(true, ordering: .sequentiallyConsistent)
        while !hasRoom() && !cancelled.load(ordering: .sequentiallyConsistent) {
            pthread_cond_wait(producerWake, mutex)
        }
        producerParked.store(false, ordering: .relaxed)
        return !cancelled.load(ordering: .relaxed)
    }

    // MARK: Consumer

    /// Consumer: the next element, or why there is none: the producer paused as asked (its
    /// input is the consumer's now) or finished (then ``takeFailure()``).
    func take() -> Taken {
        if readIndex == readLimit {
            readLimit = pushed.load(ordering: .acquiring)
            if readIndex == readLimit, let stop = waitForElements() { return stop }
        }
        let element = slots[readIndex % capacity].take()!
        readIndex += 1
        taken.store(readIndex, ordering: .sequentiallyConsistent)
        if producerParked.load(ordering: .sequentiallyConsistent) { signal(producerWake) }
        return .element(element)
    }

    /// Consumer: the error the producer finished with, once.
    func takeFailure() -> (any Error)? {
        defer { failure = nil }
        return failure
    }

    /// Consumer: asks the producer to stop after the element it is computing; ``take()``
    /// returns `.paused` once everything it pulled has been taken.
    func requestPause() {
        pauseWanted.store(true, ordering: .sequentiallyConsistent)
    }

    /// Consumer: hands the input back to a paused producer.
    func resume() {
        pauseWanted.store(false, ordering: .sequentiallyConsistent)
        state.store(ProducerState.running.rawValue, ordering: .sequentiallyConsistent)
        signal(producerWake)
    }

    /// Consumer: stops the producer (it exits at its next push or pause, or after its current pull).
    func cancel() {
        cancelled.store(true, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(producerWake)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until an element is published (`nil`) or the producer stopped with nothing more
    /// to take.
    private func waitForElements() -> Taken? {
        let outcome = { [self] () -> (ready: Bool, stop: Taken?) in
            // The producer publishes its last element before its state, so reading the state
            // first and then the count cannot miss an element.
            let current = state.load(ordering: .sequentiallyConsistent)
            readLimit = pushed.load(ordering: .sequentiallyConsistent)
            if readIndex < readLimit { return (true, nil) }
            switch ProducerState(rawValue: current)! {
            case .running: return (false, nil)
            case .paused: return (true, .paused)
            case .finished: return (true, .finished)
            }
        }
        for round in 0..<(Self.spinLimit + Self.yieldLimit) {
            let seen = outcome()
            if seen.ready { return seen.stop }
            if round >= Self.spinLimit { sched_yield() }
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        consumerParked.store(true, ordering: .sequentiallyConsistent)
        var seen = outcome()
        while !seen.ready {
            pthread_cond_wait(consumerWake, mutex)
            seen = outcome()
        }
        consumerParked.store(false, ordering: .relaxed)
        return seen.stop
    }

    private func signal(_ condition: UnsafeMutablePointer<pthread_cond_t>) {
        pthread_mutex_lock(mutex)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }
}

/// 64 bytes that keep the stored properties around them on different cache lines (stored
/// properties of a class are laid out in declaration order).
private struct CacheLinePadding {
    private let words: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
}
