/// The elements whose index `i` satisfies `i % count == index`: one worker's share.
///
/// ```swift
/// try RangeDataset(0..<10).shard(count: 3, index: 1).collect()    // [1, 4, 7]
/// ```
public struct Sharded<Base: Dataset>: Dataset {
    public typealias Element = Base.Element
    /// The dataset split between workers.
    public let base: Base
    /// The number of shards (workers).
    public let count: Int
    /// This shard's index, in `0..<count`: it yields elements `index`, `index + count`, ...
    public let index: Int

    public var cardinality: Cardinality {
        guard count >= 1, (0..<count).contains(index) else { return .unknown }
        switch base.cardinality {
        case let .finite(n): return .finite(n / count + (index < n % count ? 1 : 0))
        case .infinite: return .infinite
        case .unknown: return .unknown
        }
    }

    /// The settings a saved state must match: the shard count and index.
    var stateParameters: [String: String] { ["count": "\(count)", "index": "\(index)"] }

    public func makeIterator(epoch: UInt64) -> Iterator { Iterator(dataset: self, base: base.makeIterator(epoch: epoch), seen: 0) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("shard", counters: 1, children: 1, parameters: stateParameters)
        return Iterator(dataset: self, base: try base.makeIterator(resumingFrom: state.children[0]), seen: state.counters[0])
    }

    /// Skips the other shards' elements.
    public struct Iterator: DatasetIterator {
        let dataset: Sharded
        var base: Base.Iterator
        var seen: Int

        public mutating func next() throws -> Element? {
            guard dataset.count >= 1, (0..<dataset.count).contains(dataset.index) else {
                throw DatasetError.invalidArgument(
                    stage: "shard", reason: "index \(dataset.index) must be in 0..<\(dataset.count)")
            }
            while let element = try base.next() {
                defer { seen += 1 }
                if seen % dataset.count == dataset.index { return element }
            }
            return nil
        }

        /// `counters`: [input elements seen]; `children`: [base]; `parameters`: count, index.
        public var state: IteratorState {
            IteratorState(kind: "shard", counters: [seen], children: [base.state], parameters: dataset.stateParameters)
        }
    }
}

extension Dataset {
    /// Shard `index` of `count` (elements `index`, `index + count`, ...).
    public func shard(count: Int, index: Int) -> Sharded<Self> { Sharded(base: self, count: count, index: index) }
}
