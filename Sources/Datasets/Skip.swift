/// A base dataset without its first `count` elements (nothing at all when `count` is negative,
/// as tf.data's `skip(-1)`). The skipping happens lazily, at the first `next()`.
///
/// ```swift
/// try RangeDataset(0..<5).skip(2).collect()     // [2, 3, 4]
/// ```
public struct Skipped<Base: Dataset>: Dataset {
    public typealias Element = Base.Element
    /// The dataset whose first elements are dropped.
    public let base: Base
    /// How many elements are dropped at the start of each pass.
    public let count: Int

    public var cardinality: Cardinality {
        guard count >= 0 else { return .finite(0) }
        switch base.cardinality {
        case let .finite(n): return .finite(Swift.max(0, n - count))
        case .infinite: return .infinite
        case .unknown: return .unknown
        }
    }

    /// The setting a saved state must match: the count.
    static func stateParameters(_ count: Int) -> [String: String] { ["count": "\(count)"] }

    public func makeIterator(epoch: UInt64) -> Iterator { Iterator(base: base.makeIterator(epoch: epoch), count: count, done: false) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("skip", counters: 1, children: 1, parameters: Self.stateParameters(count))
        return Iterator(base: try base.makeIterator(resumingFrom: state.children[0]), count: count,
                        done: state.counters[0] != 0)
    }

    /// Discards the first elements on its first call.
    public struct Iterator: DatasetIterator {
        var base: Base.Iterator
        let count: Int
        var done: Bool

        public mutating func next() throws -> Element? {
            if count < 0 { return nil }
            if !done {
                done = true
                for _ in 0..<count where try base.next() == nil { return nil }
            }
            return try base.next()
        }

        /// `counters`: [skipping done 0/1]; `children`: [base]; `parameters`: count.
        public var state: IteratorState {
            IteratorState(kind: "skip", counters: [done ? 1 : 0], children: [base.state], parameters: Skipped.stateParameters(count))
        }
    }
}

extension Dataset {
    /// Everything after the first `count` elements (nothing when `count` is negative).
    public func skip(_ count: Int) -> Skipped<Self> { Skipped(base: self, count: count) }
}
