/// The elements of one dataset followed by those of another with the same element type.
///
/// ```swift
/// try RangeDataset(0..<2).concatenate(RangeDataset(5..<7)).collect()   // [0, 1, 5, 6]
/// ```
public struct Concatenated<First: Dataset, Second: Dataset>: Dataset where First.Element == Second.Element {
    public typealias Element = First.Element
    public let first: First
    public let second: Second

    public var cardinality: Cardinality {
        switch (first.cardinality, second.cardinality) {
        case let (.finite(a), .finite(b)): return .finite(a + b)
        case (.infinite, _), (_, .infinite): return .infinite
        default: return .unknown
        }
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        Iterator(first: first.makeIterator(epoch: epoch), second: second.makeIterator(epoch: epoch), onSecond: false)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("concatenate", counters: 1, children: 2)
        return Iterator(first: try first.makeIterator(resumingFrom: state.children[0]),
                        second: try second.makeIterator(resumingFrom: state.children[1]),
                        onSecond: state.counters[0] != 0)
    }

    /// Drains the first, then the second.
    public struct Iterator: DatasetIterator {
        var first: First.Iterator
        var second: Second.Iterator
        var onSecond: Bool

        public mutating func next() throws -> Element? {
            if !onSecond {
                if let element = try first.next() { return element }
                onSecond = true
            }
            return try second.next()
        }

        /// `counters`: [on the second dataset 0/1]; `children`: [first, second].
        public var state: IteratorState {
            IteratorState(kind: "concatenate", counters: [onSecond ? 1 : 0], children: [first.state, second.state])
        }
    }
}

extension Dataset {
    /// This dataset's elements followed by `other`'s.
    public func concatenate<Other: Dataset>(_ other: Other) -> Concatenated<Self, Other> where Other.Element == Element {
        Concatenated(first: self, second: other)
    }
}
