import Dispatch
import Foundation

/// `map` whose function runs on `parallelism` Dispatch queues, up to `2 * parallelism` elements
/// ahead of the consumer. Results come back in input order. Input elements are pulled on the
/// consumer's thread; the state is that of the elements delivered (a base snapshot taken every
/// `stateInterval` pulls plus how many to skip).
///
/// ```swift
/// let decoded = files.map(parallelism: 2) { try decode($0) }.prefetch(2)
/// ```
public struct ParallelMapped<Base: Dataset, Element: Sendable>: Dataset where Base.Element: Sendable {
    public let base: Base
    public let parallelism: Int
    public let stateInterval: Int
    let transform: @Sendable (Base.Element) throws -> Element

    public var cardinality: Cardinality { base.cardinality }

    public func makeIterator(epoch: UInt64) -> Iterator {
        let input = base.makeIterator(epoch: epoch)
        return Iterator(dataset: self, base: input, log: ReplayLog(initial: input.state, interval: stateInterval), delivered: 0)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("parallelMap", counters: 2, children: 1)
        var input = try base.makeIterator(resumingFrom: state.children[0])
        try input.skip(state.counters[1], stage: "parallelMap")
        return Iterator(dataset: self, base: input,
                        log: ReplayLog(initial: state.children[0], at: state.counters[0], interval: stateInterval),
                        delivered: state.counters[0] + state.counters[1])
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

        init(dataset: ParallelMapped, base: Base.Iterator, log: ReplayLog, delivered: Int) {
            self.dataset = dataset
            self.base = base
            self.log = log
            self.delivered = delivered
            self.pulled = delivered
            queues = (0..<Swift.max(1, dataset.parallelism)).map { DispatchQueue(label: "batchwise.map.\($0)") }
        }

        public mutating func next() throws -> Element? {
            while !inputEnded && pending.count < 2 * queues.count {
                guard let element = try base.next() else { inputEnded = true; break }
                let slot = Slot(index: pulled)
                let transform = dataset.transform
                queues[pulled % queues.count].async {
                    slot.finish(Result { try transform(element) })
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

        /// `counters`: [snapshot ordinal, elements to skip after it]; `children`: [base at the snapshot].
        public var state: IteratorState {
            let point = log.resumePoint(for: delivered)
            return IteratorState(kind: "parallelMap", counters: [point.ordinal, delivered - point.ordinal],
                                 children: [point.state])
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
    /// Applies `transform` on `parallelism` background queues, keeping the input order.
    public func map<T: Sendable>(parallelism: Int, stateInterval: Int = 256,
                                 _ transform: @escaping @Sendable (Element) throws -> T) -> ParallelMapped<Self, T> {
        ParallelMapped(base: self, parallelism: parallelism, stateInterval: Swift.max(1, stateInterval), transform: transform)
    }
}
