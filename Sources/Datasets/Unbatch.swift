import Tensors

/// The rows of each element of a batched dataset, one by one: tf.data's `unbatch`, the
/// inverse of ``Dataset/batch(_:dropRemainder:)`` for tensors and `(features, labels)` pairs.
///
/// The iterator state is the base's state *before* the current batch plus the offset in it,
/// so a resume re-reads at most one batch. Capturing that state costs one base-state capture
/// per batch.
///
/// ```swift
/// let rows = try Slices(x, y).batch(32).map(augment).unbatch()   // rows again, in order
/// ```
public struct Unbatched<Base: Dataset, Element>: Dataset {
    public let base: Base
    let split: @Sendable (Base.Element) throws -> [Element]

    /// Unknown: batches may be short or uneven.
    public var cardinality: Cardinality {
        if case .infinite = base.cardinality { return .infinite }
        return .unknown
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        let input = base.makeIterator(epoch: epoch)
        return Iterator(dataset: self, base: input, before: input.state)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("unbatch", counters: 1, children: 1)
        var iterator = Iterator(dataset: self, base: try base.makeIterator(resumingFrom: state.children[0]),
                                before: state.children[0])
        let offset = state.counters[0]
        if offset > 0 {
            guard let batch = try iterator.base.next() else {
                throw DatasetError.incompatibleState(expected: "a batch to resume inside", found: "the end of the input")
            }
            iterator.pending = try split(batch)
            guard offset <= iterator.pending.count else {
                throw DatasetError.incompatibleState(expected: "an offset within \(iterator.pending.count) rows",
                                                     found: "offset \(offset)")
            }
            iterator.offset = offset
        }
        return iterator
    }

    /// Splits one batch at a time.
    public struct Iterator: DatasetIterator {
        let dataset: Unbatched
        var base: Base.Iterator
        var before: IteratorState
        var pending: [Element] = []
        var offset = 0

        init(dataset: Unbatched, base: Base.Iterator, before: IteratorState) {
            self.dataset = dataset
            self.base = base
            self.before = before
        }

        public mutating func next() throws -> Element? {
            while offset >= pending.count {
                before = base.state
                guard let batch = try base.next() else { return nil }
                pending = try dataset.split(batch)
                offset = 0
            }
            defer { offset += 1 }
            return pending[offset]
        }

        /// `counters`: [offset in the current batch]; `children`: [base before that batch].
        public var state: IteratorState {
            IteratorState(kind: "unbatch", counters: [offset < pending.count ? offset : 0],
                          children: [offset < pending.count ? before : base.state])
        }
    }
}

extension Dataset {
    /// The rows of each tensor element, along its leading dimension.
    public func unbatch<A>() -> Unbatched<Self, Tensor<A>> where Element == Tensor<A> {
        Unbatched(base: self) { batch in
            guard batch.rank > 0 else {
                throw DatasetError.invalidArgument(stage: "unbatch", reason: "cannot unbatch a scalar tensor")
            }
            return (0..<batch.rowCount).map { batch.row($0) }
        }
    }

    /// The row pairs of each `(features, labels)` element; both must have the same row count.
    public func unbatch<A, B>() -> Unbatched<Self, (Tensor<A>, Tensor<B>)> where Element == (Tensor<A>, Tensor<B>) {
        Unbatched(base: self) { batch in
            guard batch.0.rank > 0, batch.1.rank > 0, batch.0.rowCount == batch.1.rowCount else {
                throw DatasetError.invalidArgument(
                    stage: "unbatch", reason: "features \(batch.0.shape) and labels \(batch.1.shape) differ in rows")
            }
            return (0..<batch.0.rowCount).map { (batch.0.row($0), batch.1.row($0)) }
        }
    }
}
