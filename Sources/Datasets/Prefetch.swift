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

    public var cardinality: Cardinality { base.cardinality }

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
        private let session: Session

        init(base: Base.Iterator, from snapshot: IteratorState, at ordinal: Int, delivered: Int,
             dataset: Prefetched) {
            session = Session(base: base, capacity: Swift.max(1, dataset.bufferSize),
                              log: ReplayLog(initial: snapshot, at: ordinal, interval: dataset.stateInterval),
                              delivered: delivered, valid: dataset.bufferSize >= 1)
        }

        public mutating func next() throws -> Element? { try session.next() }

        /// `counters`: [snapshot ordinal, elements to skip after it]; `children`: [base at the snapshot].
        public var state: IteratorState {
            let point = session.buffer.resumePoint()
            let ordinal = session.buffer.delivered - point.skip
            return IteratorState(kind: "prefetch", counters: [ordinal, point.skip], children: [point.state])
        }
    }

    /// Owns the producer; dropping the last iterator copy cancels it.
    final class Session: @unchecked Sendable {
        let buffer: HandoffBuffer<Element>
        /// Moved to the producer thread at the first `next()`; the consumer never touches it again.
        private var pending: Base.Iterator?
        private let pulledBefore: Int
        private let valid: Bool
        private var started = false

        init(base: Base.Iterator, capacity: Int, log: ReplayLog, delivered: Int, valid: Bool) {
            buffer = HandoffBuffer(capacity: capacity, delivered: delivered, log: log)
            pending = base
            pulledBefore = delivered
            self.valid = valid
        }

        deinit { buffer.cancel() }

        func next() throws -> Element? {
            guard valid else {
                throw DatasetError.invalidArgument(stage: "prefetch", reason: "the buffer size must be >= 1")
            }
            if !started { start() }
            return try buffer.pop()
        }

        private func start() {
            started = true
            let producer = Producer(iterator: pending.take()!, pulled: pulledBefore,
                                    interval: 0, buffer: buffer)
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

    /// The producer loop; holds the buffer, never the session, so dropping the session ends it.
    final class Producer: @unchecked Sendable {
        var iterator: Base.Iterator
        var pulled: Int
        let buffer: HandoffBuffer<Element>

        init(iterator: Base.Iterator, pulled: Int, interval: Int, buffer: HandoffBuffer<Element>) {
            self.iterator = iterator
            self.pulled = pulled
            self.buffer = buffer
        }

        func run() {
            let interval = bufferInterval
            while !buffer.cancelled.load(ordering: .relaxed) {
                let element: Element?
                do { element = try iterator.next() } catch {
                    buffer.finish(error: error)
                    return
                }
                guard let element else {
                    buffer.finish(error: nil)
                    return
                }
                pulled += 1
                let snapshot = pulled % interval == 0 ? (pulled, iterator.state) : nil
                if !buffer.push(element, snapshot: snapshot) { return }
            }
        }

        private var bufferInterval: Int { buffer.snapshotInterval }
    }
}

extension Dataset where Element: Sendable {
    /// Produces up to `bufferSize` elements ahead of the consumer on a background queue.
    /// `stateInterval` trades snapshot cost against replay length on restore.
    public func prefetch(_ bufferSize: Int, stateInterval: Int = 256) -> Prefetched<Self> {
        Prefetched(base: self, bufferSize: bufferSize, stateInterval: Swift.max(1, stateInterval))
    }
}
