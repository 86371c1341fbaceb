/// At most the first `count` elements of a base dataset (all of them when `count` is negative,
/// as tf.data's `take(-1)`). Taking from an infinite dataset pulls only what it returns.
///
/// ```swift
/// try RangeDataset(0..<10).repeat().take(3).collect()    // [0, 1, 2]
/// ```
public struct Taken<Base: Dataset>: Dataset {
    public typealias Element = Base.Element
    /// The dataset cut short.
    public let base: Base
    /// The most elements one pass yields.
    public let count: Int

    public var cardinality: Cardinality {
        guard count >= 0 else { return base.cardinality }
        switch base.cardinality {
        case let .finite(n): return .finite(Swift.min(n, count))
        case .infinite: return .finite(count)
        case .unknown: return .unknown
        }
    }

    /// The setting a saved state must match: the count.
    static func stateParameters(_ count: Int) -> [String: String] { ["count": "\(count)"] }

    public func makeIterator(epoch: UInt64) -> Iterator { Iterator(base: base.makeIterator(epoch: epoch), limit: count, taken: 0) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("take", counters: 1, children: 1, parameters: Self.stateParameters(count))
        return Iterator(base: try base.makeIterator(resumingFrom: state.children[0]), limit: count, taken: state.counters[0])
    }

    /// Stops after `count` elements.
    public struct Iterator: DatasetIterator {
        var base: Base.Iterator
        let limit: Int
        var taken: Int

        public mutating func next() throws -> Element? {
            guard limit < 0 || taken < limit, let element = try base.next() else { return nil }
            taken += 1
            return element
        }

        /// `counters`: [elements taken]; `children`: [base]; `parameters`: count.
        public var state: IteratorState {
            IteratorState(kind: "take", counters: [taken], children: [base.state], parameters: Taken.stateParameters(limit))
        }
    }
}

extension Dataset {
    /// The first `count` elements (everything when `count` is negative).
    public func take(_ count: Int) -> Taken<Self> { Taken(base: self, count: count) }
}
