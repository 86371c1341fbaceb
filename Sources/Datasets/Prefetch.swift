import Foundation
import Synchronization

/// A base dataset whose elements are produced ahead of the consumer on a background thread, into
/// a buffer of at most `bufferSize` elements. Values and order are unchanged.
///
/// The producer starts at the first `next()` and stops when the pass ends, when it fails (the
/// error reaches the consumer after the elements produced before it), or when the iterator is
/// dropped (it finishes at most the element it is computing). The iterator's `state` is that of
/// the elements already delivered, not of the producer's lookahead: it is a snapshot of the base
/// taken every `stateInterval` elements plus the number to skip after it.
///
/// When handing elements across threads costs more than it saves (elements that take about a
/// microsecond to make, and a consumer that does little with them), the iterator pulls the
/// base on the consumer's thread instead and lets the producer thread wait (or never starts
/// it); it times both ways now and then and keeps the faster one, and the next iterator of the
/// same dataset value starts with what the last one found. Elements, errors and states are the
/// same either way.
///
/// ```swift
/// var it = try Slices(x, y).batch(32).prefetch(2).makeIterator()
/// while let (xb, yb) = try it.next() { step(xb, yb) }      // batching overlaps training
/// ```
public struct Prefetched<Base: Dataset>: Dataset where Base.Element: Sendable {
    public typealias Element = Base.Element
    /// The dataset produced ahead.
    public let base: Base
    /// How many elements the producer may run ahead of the consumer.
    public let bufferSize: Int
    /// Base elements between state snapshots (a restore replays at most this many plus the buffer).
    public let stateInterval: Int
    /// Where the base runs (tests fix it; pipelines adapt).
    let placementRule: PrefetchPlacementRule
    /// What earlier iterators of this value learned about the placement (shared by copies).
    let placementMemory = PrefetchPlacementMemory()

    public var cardinality: Cardinality { base.cardinality }

    init(base: Base, bufferSize: Int, stateInterval: Int, placementRule: PrefetchPlacementRule = .adaptive) {
        self.base = base
        self.bufferSize = bufferSize
        self.stateInterval = stateInterval
        self.placementRule = placementRule
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        let input = base.makeIterator(epoch: epoch)
        return Iterator(base: input, from: input.state, at: 0, delivered: 0, dataset: self)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("prefetch", counters: 2, children: 1)
        let snapshotOrdinal = state.counters[0], skip = state.counters[1]
        var input = try base.makeIterator(resumingFrom: state.children[0])
        try input.skip(skip, stage: "prefetch")
        return Iterator(base: input, from: state.children[0], at: snapshotOrdinal,
                        delivered: snapshotOrdinal + skip, dataset: self)
    }

    /// Hands out the producer's elements.
    public struct Iterator: DatasetIterator {
        @usableFromInline let session: Session

        init(base: Base.Iterator, from snapshot: IteratorState, at ordinal: Int, delivered: Int,
             dataset: Prefetched) {
            session = Session(base: base, dataset: dataset,
                              log: ReplayLog(initial: snapshot, at: ordinal, interval: dataset.stateInterval),
                              delivered: delivered)
        }

        // Inlinable, down to the input's own `next()`, so that a pipeline whose input runs on
        // the consumer's thread is specialized like one without prefetch (unspecialized generic
        // calls cost about 15% of a 1 µs element).
        @inlinable
        public mutating func next() throws -> Element? { try session.next() }

        /// `counters`: [snapshot ordinal, elements to skip after it]; `children`: [base at the snapshot].
        public var state: IteratorState {
            let (snapshot, ordinal, delivered) = session.resumePoint()
            return IteratorState(kind: "prefetch", counters: [ordinal, delivered - ordinal], children: [snapshot])
        }

        /// Where the base runs now (tests check that both placements were used).
        var placement: PrefetchPlacement { session.placement }
    }

    /// The consumer's side; owns the producer, and dropping the last iterator copy cancels it.
    /// The variables the consumer's path touches per element skip Swift's run-time exclusivity
    /// checks (`@exclusivity(unchecked)`, about 2.5% of a 1 µs element): only the consumer's
    /// thread uses them, and the input and its counts belong to one thread at a time (handed
    /// over through the ring's sequentially consistent state).
    @usableFromInline
    final class Session: @unchecked Sendable {
        private let buffer: HandoffBuffer<Element>
        /// The input and its pull count; the producer thread's while it runs, the consumer's
        /// while it is paused (or not started).
        @usableFromInline let producer: Producer
        @usableFromInline let interval: Int
        @usableFromInline let valid: Bool
        @usableFromInline @exclusivity(unchecked) var policy: PrefetchPlacementPolicy
        @usableFromInline @exclusivity(unchecked) var delivered: Int
        /// The next multiple of the snapshot interval: the log is pruned there (a count, not `%`,
        /// which costs a division per element).
        @usableFromInline @exclusivity(unchecked) var nextPrune: Int
        private var started = false
        /// The consumer asked the producer to pause and has not yet taken the input back.
        @usableFromInline @exclusivity(unchecked) var draining = false
        @usableFromInline @exclusivity(unchecked) var placement = PrefetchPlacement.producerThread
        @usableFromInline @exclusivity(unchecked) var passOver = false

        init(base: Base.Iterator, dataset: Prefetched, log: ReplayLog, delivered: Int) {
            let capacity = Swift.max(1, dataset.bufferSize)
            buffer = HandoffBuffer(capacity: capacity)
            interval = log.interval
            producer = Producer(iterator: base, pulled: delivered, buffer: buffer, log: log)
            self.delivered = delivered
            nextPrune = (delivered / log.interval + 1) * log.interval
            valid = dataset.bufferSize >= 1
            policy = PrefetchPlacementPolicy(rule: dataset.placementRule, bufferSize: capacity,
                                             memory: dataset.placementMemory)
            placement = policy.placement
        }

        deinit { buffer.cancel() }

        @inlinable
        func next() throws -> Element? {
            guard valid else { throw invalidBufferSize() }
            if passOver { return nil }
            guard let element = try (placement == .consumerThread ? pullInline() : takeFromProducer()) else {
                passOver = true
                return nil
            }
            delivered += 1
            if delivered == nextPrune { pruneLog() }
            // Elements drained from the ring after a pause request belong to neither placement.
            if !draining {
                policy.delivered()
                if policy.placement != placement { move(to: policy.placement) }
            }
            return element
        }

        @usableFromInline
        func invalidBufferSize() -> DatasetError {
            .invalidArgument(stage: "prefetch", reason: "the buffer size must be >= 1")
        }

        @usableFromInline
        func pruneLog() {
            nextPrune += interval
            producer.log.withLock { $0.prune(before: delivered) }
        }

        func resumePoint() -> (state: IteratorState, ordinal: Int, delivered: Int) {
            let point = producer.log.withLock { $0.resumePoint(for: delivered) }
            return (point.state, point.ordinal, delivered)
        }

        @usableFromInline
        func takeFromProducer() throws -> Element? {
            if !started { start() }
            switch buffer.take() {
            case let .element(element):
                return element
            case .paused:
                // Everything the producer pulled has been delivered; the input is ours now.
                draining = false
                placement = .consumerThread
                return try pullInline()
            case .finished:
                if let error = buffer.takeFailure() {
                    passOver = true
                    throw error
                }
                return nil
            }
        }

        @inlinable
        func pullInline() throws -> Element? {
            do {
                return try producer.pullOne()
            } catch {
                passOver = true
                throw error
            }
        }

        @usableFromInline
        func move(to target: PrefetchPlacement) {
            switch target {
            case .consumerThread:
                // The producer finishes the element in hand; `take()` then says `.paused`.
                draining = true
                buffer.requestPause()
            case .producerThread:
                placement = .producerThread
                if started { buffer.resume() } else { start() }
            }
        }

        private func start() {
            started = true
            let producer = self.producer
            let workers = PipelineWorkers.current
            workers?.began()
            // A thread of its own, not a Dispatch worker: a producer parks whenever its buffer is
            // full, and parked workers count against Dispatch's small pool (about 16 threads on
            // 2 cores), so a few dozen live prefetch iterators starved any new one forever.
            let thread = Thread { PipelineWorkers.run(countedBy: workers) { producer.run() } }
            thread.name = "batchwise.prefetch"
            thread.qualityOfService = .userInitiated
            thread.start()
        }
    }

    /// The input, its pull count and the producer loop; holds the buffer, never the session, so
    /// dropping the session ends it.
    @usableFromInline
    final class Producer: @unchecked Sendable {
        @usableFromInline @exclusivity(unchecked) var iterator: Base.Iterator
        @usableFromInline @exclusivity(unchecked) var pulled: Int
        private let buffer: HandoffBuffer<Element>
        /// Snapshots of the input, recorded by whichever side pulls and pruned by the consumer.
        let log: LockedValue<ReplayLog>
        @usableFromInline let interval: Int
        /// The next multiple of `interval`: a snapshot is due when `pulled` reaches it.
        @usableFromInline @exclusivity(unchecked) var nextSnapshot: Int

        init(iterator: Base.Iterator, pulled: Int, buffer: HandoffBuffer<Element>, log: ReplayLog) {
            self.iterator = iterator
            self.pulled = pulled
            self.buffer = buffer
            interval = log.interval
            nextSnapshot = (pulled / log.interval + 1) * log.interval
            self.log = LockedValue(log)
        }

        /// One element of the input, with a state snapshot when one is due (on whichever thread
        /// owns the input).
        @inlinable
        func pullOne() throws -> Element? {
            guard let element = try iterator.next() else { return nil }
            pulled += 1
            if pulled == nextSnapshot { recordSnapshot() }
            return element
        }

        @usableFromInline
        func recordSnapshot() {
            nextSnapshot += interval
            let snapshot = iterator.state
            log.withLock { $0.record(pulled, snapshot) }
        }

        /// The producer thread: pushes elements until the pass ends or the consumer goes, and
        /// waits while the consumer runs the input itself.
        func run() {
            while !buffer.cancelled.load(ordering: .relaxed) {
                if buffer.pauseRequested {
                    guard buffer.pauseUntilResumed() else { return }
                    continue
                }
                let element: Element?
                do { element = try pullOne() } catch {
                    buffer.finish(error: error)
                    return
                }
                guard let element else {
                    buffer.finish(error: nil)
                    return
                }
                if !buffer.push(element) { return }
            }
        }
    }
}

extension Dataset where Element: Sendable {
    /// Produces up to `bufferSize` elements ahead of the consumer on a background queue.
    /// `stateInterval` trades snapshot cost against replay length on restore.
    public func prefetch(_ bufferSize: Int, stateInterval: Int = 256) -> Prefetched<Self> {
        Prefetched(base: self, bufferSize: bufferSize, stateInterval: Swift.max(1, stateInterval))
    }
}
