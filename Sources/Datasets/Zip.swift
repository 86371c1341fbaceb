/// Elements of two datasets side by side; the pass ends with the shorter one.
///
/// ```swift
/// try RangeDataset(0..<3).zip(RangeDataset(10..<20)).collect()   // [(0, 10), (1, 11), (2, 12)]
/// ```
public struct Zipped<First: Dataset, Second: Dataset>: Dataset {
    public typealias Element = (First.Element, Second.Element)
    public let first: First
    public let second: Second

    public var cardinality: Cardinality {
        switch (first.cardinality, second.cardinality) {
        case let (.finite(a), .finite(b)): return .finite(Swift.min(a, b))
        case let (.finite(a), .infinite), let (.infinite, .finite(a)): return .finite(a)
        case (.infinite, .infinite): return .infinite
        default: return .unknown
        }
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        Iterator(first: first.makeIterator(epoch: epoch), second: second.makeIterator(epoch: epoch))
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("zip", children: 2)
        return Iterator(first: try first.makeIterator(resumingFrom: state.children[0]),
                        second: try second.makeIterator(resumingFrom: state.children[1]))
    }

    /// Pulls one element from each side.
    public struct Iterator: DatasetIterator {
        var first: First.Iterator
        var second: Second.Iterator

        public mutating func next() throws -> Element? {
            guard let a = try first.next(), let b = try second.next() else { return nil }
            return (a, b)
        }

        /// `children`: [first, second].
        public var state: IteratorState { IteratorState(kind: "zip", children: [first.state, second.state]) }
    }
}

extension Dataset {
    /// Pairs this dataset's elements with `other`'s.
    public func zip<Other: Dataset>(_ other: Other) -> Zipped<Self, Other> { Zipped(first: self, second: other) }
}
