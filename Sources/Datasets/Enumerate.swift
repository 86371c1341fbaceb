/// Each element paired with its position in the pass.
///
/// ```swift
/// try RangeDataset(5..<8).enumerate().collect().map { $0.0 }    // [0, 1, 2]
/// ```
public struct Enumerated<Base: Dataset>: Dataset {
    public typealias Element = (Int, Base.Element)
    public let base: Base

    public var cardinality: Cardinality { base.cardinality }

    public func makeIterator(epoch: UInt64) -> Iterator { Iterator(base: base.makeIterator(epoch: epoch), position: 0) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("enumerate", counters: 1, children: 1)
        return Iterator(base: try base.makeIterator(resumingFrom: state.children[0]), position: state.counters[0])
    }

    /// Counts the elements.
    public struct Iterator: DatasetIterator {
        var base: Base.Iterator
        var position: Int

        public mutating func next() throws -> Element? {
            guard let element = try base.next() else { return nil }
            defer { position += 1 }
            return (position, element)
        }

        /// `counters`: [position]; `children`: [base].
        public var state: IteratorState { IteratorState(kind: "enumerate", counters: [position], children: [base.state]) }
    }
}

extension Dataset {
    /// Pairs each element with its index in the pass.
    public func enumerate() -> Enumerated<Self> { Enumerated(base: self) }
}
