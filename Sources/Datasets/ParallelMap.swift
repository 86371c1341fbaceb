import Dispatch
import Foundation

/// `map` whose function runs on `parallelism` Dispatch queues, up to `2 * parallelism` elements
/// ahead of the consumer. Results come back in input order. Input elements are pulled on the
/// consumer's thread; the state is that of the elements delivered (a base snapshot taken every
/// `stateInterval` pulls plus how many to skip).
///
/// With `ordered: false` (tf.data's `deterministic=False`) each result is handed out as soon as
/// any worker finishes it, so a slow element does not hold up the ones behind it. Every input
/// element is still delivered exactly once, and the state stays exact: it records the input
/// position below which everything was delivered plus the ordinals delivered early beyond it; a
/// restore replays the input from there, skipping those, so across a save and restore no
/// element is lost or repeated (the order after the restore may differ, as on any run).
///
/// ```swift
/// let decoded = files.map(parallelism: 2) { try decode($0) }.prefetch(2)
/// let anyOrder = files.map(parallelism: 2, ordered: false) { try decode($0) }
/// ```
public struct ParallelMapped<Base: Dataset, Element: Sendable>: Dataset where Base.Element: Sendable {
    /// The dataset whose elements are transformed.
    public let base: Base
    /// How many elements are transformed at once, on Dispatch's concurrent queue.
    public let parallelism: Int
    /// Elements between snapshots of the base's state; a resume replays at most this many.
    public let stateInterval: Int
    /// Whether results come back in input order (`false`: as soon as they are ready).
    public let ordered: Bool
    let transform: @Sendable (Base.Element) throws -> Element

    public var cardinality: Cardinality { base.cardinality }

    /// The setting a saved state must match: whether results keep the input order.
    var stateParameters: [String: String] { ["ordered": "\(ordered)"] }

    public func makeIterator(epoch: UInt64) -> Iterator {
        let input = base.makeIterator(epoch: epoch)
        return Iterator(dataset: self, base: input, log: ReplayLog(initial: input.state, interval: stateInterval), delivered: 0)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("parallelMap", counters: 2, children: 1, parameters: stateParameters)
        let resumeAt = state.counters[0] + state.counters[1]
        // `indices`: ordinals at or beyond `resumeAt` an unordered map already delivered.
        guard state.indices.allSatisfy({ $0 > resumeAt }), ordered ? state.indices.isEmpty : true else {
            throw DatasetError.incompatibleState(expected: ordered ? "an ordered parallel map" : "early ordinals after \(resumeAt)",
                                                 found: "early ordinals \(state.indices)")
        }
        var input = try base.makeIterator(resumingFrom: state.children[0])
        try input.skip(state.counters[1], stage: "parallelMap")
        var iterator = Iterator(dataset: self, base: input,
                                log: ReplayLog(initial: state.children[0], at: state.counters[0], interval: stateInterval),
                                delivered: resumeAt)
        iterator.early = Set(state.indices)
        return iterator
    }

    /// Keeps the workers busy and hands results out in order.
    public struct Iterator: DatasetIterator {
        let dataset: ParallelMapped
        var base: Base.Iterator
        var log: ReplayLog
        var delivered: Int
        var pulled: Int
        var inputEnded = false
        var pending: [Slot] = []
        let queues: [DispatchQueue]
        /// Counts the transform calls in flight for tests (nil outside a test's scope).
        let workers = PipelineWorkers.current
        /// Unordered mode: the workers, the number of elements in flight, and the ordinals
        /// delivered beyond `delivered` (which is then the low watermark: every ordinal below
        /// it was delivered).
        let lease: UnorderedMapLease<Base.Element, Element>?
        var inFlight = 0
        var early: Set<Int> = []

        init(dataset: ParallelMapped, base: Base.Iterator, log: ReplayLog, delivered: Int) {
            self.dataset = dataset
            self.base = base
            self.log = log
            self.delivered = delivered
            self.pulled = delivered
            if dataset.ordered {
                queues = (0..<Swift.max(1, dataset.parallelism)).map { DispatchQueue(label: "batchwise.map.\($0)") }
                lease = nil
            } else {
                queues = []
                lease = UnorderedMapLease(UnorderedMapPool(workers: dataset.parallelism, transform: dataset.transform))
            }
        }

        public mutating func next() throws -> Element? {
            if let lease { return try nextUnordered(lease.pool) }
            while !inputEnded && pending.count < 2 * queues.count {
                guard let element = try base.next() else { inputEnded = true; break }
                let slot = Slot(index: pulled)
                let transform = dataset.transform
                let counted = workers
                counted?.began()
                queues[pulled % queues.count].async {
                    PipelineWorkers.run(countedBy: counted) { slot.finish(Result { try transform(element) }) }
                }
                pending.append(slot)
                pulled += 1
                if log.isDue(pulled) { log.record(pulled, base.state) }
            }
            guard !pending.isEmpty else { return nil }
            let slot = pending.removeFirst()
            delivered += 1
            log.prune(before: delivered)
            switch slot.wait() {
            case let .success(value): return value
            case let .failure(error as DatasetError): throw error
            case let .failure(error):
                throw DatasetError.functionFailed(stage: "map(parallelism:)", index: slot.index, underlying: error)
            }
        }

        /// Keeps `2 * parallelism` elements with the workers and returns whichever finishes first.
        mutating func nextUnordered(_ pool: UnorderedMapPool<Base.Element, Element>) throws -> Element? {
            let window = 2 * Swift.max(1, dataset.parallelism)
            while !inputEnded && inFlight < window {
                guard let element = try base.next() else { inputEnded = true; break }
                let ordinal = pulled
                pulled += 1
                if log.isDue(pulled) { log.record(pulled, base.state) }
                if early.contains(ordinal) { continue }     // delivered before the state was saved
                pool.submit(element, ordinal: ordinal)
                inFlight += 1
            }
            guard inFlight > 0 else {
                pool.cancel()                               // the pass is over: let the workers go
                return nil
            }
            let (ordinal, result) = pool.takeFinished()
            inFlight -= 1
            early.insert(ordinal)
            while early.remove(delivered) != nil { delivered += 1 }
            log.prune(before: delivered)
            switch result {
            case let .success(value): return value
            case let .failure(error as DatasetError): throw error
            case let .failure(error):
                throw DatasetError.functionFailed(stage: "map(parallelism:ordered: false)", index: ordinal, underlying: error)
            }
        }

        /// `counters`: [snapshot ordinal, elements to skip after it]; `indices` (unordered only):
        /// ordinals beyond that point already delivered; `children`: [base at the snapshot];
        /// `parameters`: ordered.
        public var state: IteratorState {
            let point = log.resumePoint(for: delivered)
            return IteratorState(kind: "parallelMap", counters: [point.ordinal, delivered - point.ordinal],
                                 indices: early.sorted(), children: [point.state], parameters: dataset.stateParameters)
        }
    }

    /// One in-flight result.
    final class Slot: @unchecked Sendable {
        let index: Int
        private let done = DispatchSemaphore(value: 0)
        private var result: Result<Element, any Error>?
        init(index: Int) { self.index = index }
        func finish(_ value: Result<Element, any Error>) { result = value; done.signal() }
        func wait() -> Result<Element, any Error> { done.wait(); return result! }
    }
}

extension Dataset where Element: Sendable {
    /// Applies `transform` on `parallelism` background queues, keeping the input order unless
    /// `ordered` is `false` (then results come back as soon as they are ready).
    public func map<T: Sendable>(parallelism: Int, ordered: Bool = true, stateInterval: Int = 256,
                                 _ transform: @escaping @Sendable (Element) throws -> T) -> ParallelMapped<Self, T> {
        ParallelMapped(base: self, parallelism: parallelism, stateInterval: Swift.max(1, stateInterval),
                       ordered: ordered, transform: transform)
    }
}
