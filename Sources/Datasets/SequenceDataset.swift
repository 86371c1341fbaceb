/// Any Swift `Sequence` as a dataset. Each pass calls `makeIterator()` on the sequence anew, so
/// the sequence must give the same elements every time for passes and restored states to agree
/// (a restore re-creates the sequence's iterator and skips the elements already delivered).
///
/// Nothing is iterated when the dataset is built, so an infinite sequence is fine. Lazy
/// adaptors such as `lazy.map` hold a non-`Sendable` closure: build those inside the
/// `@Sendable` factory closure. Passed directly, a lazy `map`/`filter` over a collection is
/// materialized into an array, and over any other sequence (such as `(1...)`) it is refused:
/// the call is deprecated and throws, because Swift would otherwise pick the eager
/// `Sequence.map`, which never returns on an infinite range.
///
/// ```swift
/// let squares = SequenceDataset(cardinality: .infinite) { (1...).lazy.map { $0 * $0 } }
/// try squares.take(3).collect()                                   // [1, 4, 9]
/// ```
public struct SequenceDataset<Base: Sequence>: Dataset {
    /// Makes the sequence for each pass (it is built afresh, never stored between passes, so
    /// a non-`Sendable` lazy sequence is never shared between threads).
    private let makeSequence: @Sendable () -> Base
    /// The cardinality, when the caller knows it (a `Collection` always does).
    public let cardinality: Cardinality

    /// The wrapped sequence (a fresh copy from the factory).
    public var base: Base { makeSequence() }

    /// Wraps a sequence whose length is unknown (or infinite; say so with `cardinality`).
    public init(_ base: Base, cardinality: Cardinality = .unknown) where Base: Sendable {
        self.makeSequence = { base }
        self.cardinality = cardinality
    }

    /// Wraps a collection (its count is the cardinality).
    public init(_ base: Base) where Base: Collection & Sendable {
        self.makeSequence = { base }
        self.cardinality = .finite(base.count)
    }

    /// Wraps the sequence `makeSequence` returns, called once per pass and per restore; use it
    /// for sequences that are not `Sendable` (lazy adaptors, `sequence(state:next:)` with a
    /// class state). It must return the same elements every time.
    public init(cardinality: Cardinality = .unknown, _ makeSequence: @escaping @Sendable () -> Base) {
        self.makeSequence = makeSequence
        self.cardinality = cardinality
    }

    /// The setting a saved state must match: the length, when the cardinality is finite.
    var stateParameters: [String: String]? {
        if case let .finite(count) = cardinality { return ["count": "\(count)"] }
        return nil
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        Iterator(base: makeSequence().makeIterator(), position: 0, parameters: stateParameters)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("sequence", counters: 1, parameters: stateParameters)
        var iterator = makeIterator()
        for skipped in 0..<Swift.max(0, state.counters[0]) {
            if iterator.next() == nil {
                // The message reads "the saved state is for FOUND but this stage is EXPECTED".
                throw DatasetError.incompatibleState(
                    expected: "a sequence that ends after \(skipped) elements",
                    found: "position \(state.counters[0]) of a sequence")
            }
        }
        return iterator
    }

    /// Iterates the sequence.
    public struct Iterator: DatasetIterator {
        var base: Base.Iterator
        var position: Int
        let parameters: [String: String]?

        public mutating func next() -> Base.Element? {
            guard let element = base.next() else { return nil }
            position += 1
            return element
        }

        /// `counters`: [elements delivered]; `parameters`: count (finite cardinality only).
        public var state: IteratorState { IteratorState(kind: "sequence", counters: [position], parameters: parameters) }
    }
}
