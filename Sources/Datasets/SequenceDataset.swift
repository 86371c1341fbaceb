/// Any Swift `Sequence` as a dataset. Each pass calls `makeIterator()` on the sequence anew, so
/// the sequence must give the same elements every time for passes and restored states to agree
/// (a restore re-creates the sequence's iterator and skips the elements already delivered).
///
/// ```swift
/// let squares = SequenceDataset((1...).lazy.map { $0 * $0 })      // infinite, cardinality .unknown
/// try squares.take(3).collect()                                   // [1, 4, 9]
/// ```
public struct SequenceDataset<Base: Sequence & Sendable>: Dataset {
    /// The wrapped sequence.
    public let base: Base
    /// The cardinality, when the caller knows it (a `Collection` always does).
    public let cardinality: Cardinality

    /// Wraps a sequence whose length is unknown (or infinite; say so with `cardinality`).
    public init(_ base: Base, cardinality: Cardinality = .unknown) {
        self.base = base
        self.cardinality = cardinality
    }

    /// Wraps a collection (its count is the cardinality).
    public init(_ base: Base) where Base: Collection {
        self.base = base
        self.cardinality = .finite(base.count)
    }

    public func makeIterator(epoch: UInt64) -> Iterator { Iterator(base: base.makeIterator(), position: 0) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("sequence", counters: 1)
        var iterator = makeIterator()
        for _ in 0..<state.counters[0] {
            if iterator.next() == nil {
                throw DatasetError.incompatibleState(
                    expected: "a sequence of at least \(state.counters[0]) elements",
                    found: "a shorter sequence")
            }
        }
        return iterator
    }

    /// Iterates the sequence.
    public struct Iterator: DatasetIterator {
        var base: Base.Iterator
        var position: Int

        public mutating func next() -> Base.Element? {
            guard let element = base.next() else { return nil }
            position += 1
            return element
        }

        /// `counters`: [elements delivered].
        public var state: IteratorState { IteratorState(kind: "sequence", counters: [position]) }
    }
}
