import Foundation

/// A base dataset whose first *complete* pass is kept in memory; later passes (in this process)
/// read the copy instead of running the base again. A partial pass is not cached, and a shuffle
/// placed after `cache()` still reshuffles each epoch.
///
/// The state of a pass reading the cache is its position and the epoch the cache was filled
/// with; restored in a new process (empty cache), the base is replayed from that epoch.
///
/// ```swift
/// let cached = expensive.map(decode).cache()
/// try cached.repeat(2).collect()     // decode runs once per element
/// ```
public struct Cached<Base: Dataset>: Dataset {
    public typealias Element = Base.Element
    public let base: Base
    let store = CacheStore<Base.Element>()

    public var cardinality: Cardinality { base.cardinality }

    public func makeIterator(epoch: UInt64) -> Iterator {
        if let filled = store.elements { return Iterator(dataset: self, mode: .reading(filled.elements, filled.epoch), position: 0) }
        return Iterator(dataset: self, mode: .filling(base.makeIterator(epoch: epoch), [], epoch), position: 0)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("cache", counters: 2, seeds: 1, children: 1)
        let position = state.counters[1], epoch = state.seeds[0]
        if state.counters[0] == 1, let filled = store.elements, filled.epoch == epoch {
            return Iterator(dataset: self, mode: .reading(filled.elements, epoch), position: position)
        }
        // Replay: either the fill was interrupted, or this process has no cache yet.
        var input = state.counters[0] == 1 ? base.makeIterator(epoch: epoch)
                                           : try base.makeIterator(resumingFrom: state.children[0])
        var seen: [Element] = []
        if state.counters[0] == 1 {
            for _ in 0..<position { if let e = try input.next() { seen.append(e) } }
            // A partial replay cannot be committed, so this pass fills a fresh copy from here on.
        }
        return Iterator(dataset: self, mode: .filling(input, state.counters[0] == 1 ? seen : nil, epoch), position: position)
    }

    /// Reads the cache, or fills it.
    public struct Iterator: DatasetIterator {
        enum Mode {
            case reading([Element], UInt64)
            /// The elements seen so far (`nil` when the pass started mid-way and cannot be committed).
            case filling(Base.Iterator, [Element]?, UInt64)
        }
        let dataset: Cached
        var mode: Mode
        var position: Int

        public mutating func next() throws -> Element? {
            switch mode {
            case let .reading(elements, _):
                guard position < elements.count else { return nil }
                defer { position += 1 }
                return elements[position]
            case .filling(var input, var seen, let epoch):
                let element = try input.next()
                if let element { seen?.append(element); position += 1 } else if let seen {
                    dataset.store.commit(seen, epoch: epoch)
                }
                mode = .filling(input, seen, epoch)
                return element
            }
        }

        /// `counters`: [reading the cache 0/1, position]; `seeds`: [fill epoch]; `children`: [base while filling].
        public var state: IteratorState {
            switch mode {
            case let .reading(_, epoch):
                return IteratorState(kind: "cache", counters: [1, position], seeds: [epoch],
                                     children: [IteratorState(kind: "none")])
            case let .filling(input, _, epoch):
                return IteratorState(kind: "cache", counters: [0, position], seeds: [epoch], children: [input.state])
            }
        }
    }
}

/// The shared in-memory copy (one per `cache()` value and its copies).
final class CacheStore<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (elements: [Element], epoch: UInt64)?

    var elements: (elements: [Element], epoch: UInt64)? { lock.lock(); defer { lock.unlock() }; return stored }

    func commit(_ elements: [Element], epoch: UInt64) {
        lock.lock()
        if stored == nil { stored = (elements, epoch) }
        lock.unlock()
    }
}

extension Dataset {
    /// Keeps the first complete pass in memory (see ``Cached``).
    public func cache() -> Cached<Self> { Cached(base: self) }
}
