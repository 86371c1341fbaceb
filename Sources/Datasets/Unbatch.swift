import Tensors

/// The rows of each element of a batched dataset, one by one: tf.data's `unbatch`, the
/// inverse of ``Dataset/batch(_:dropRemainder:)->Batched<Self,Tensor<A>>`` for tensors and `(features, labels)` pairs.
///
/// The iterator state is the base's state *before* the current batch, the offset in it and
/// that batch's index in the epoch, so a resume re-reads at most one batch and an error about a
/// batch names the same index as in an uninterrupted pass. Capturing that state costs one
/// base-state capture per batch.
///
/// ```swift
/// let rows = try Slices(x, y).batch(32).map(augment).unbatch()   // rows again, in order
/// ```
public struct Unbatched<Base: Dataset, Element>: Dataset {
    /// The batched dataset split into rows.
    public let base: Base
    let split: @Sendable (Base.Element, UnbatchInputPosition) throws -> [Element]

    /// Unknown: batches may be short or uneven.
    public var cardinality: Cardinality {
        if case .infinite = base.cardinality { return .infinite }
        return .unknown
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        let input = base.makeIterator(epoch: epoch)
        return Iterator(dataset: self, base: input, before: input.state,
                        nextBatch: UnbatchInputPosition(index: 0, countedFromResume: false))
    }

    /// Restores a state of either format: `[offset, batch index]`, or `[offset]` as Batchwise
    /// 0.1.0 wrote it. The old format resumes at the same row, but its batch index is unknown,
    /// so error messages count batches from the resume and say so (and the states this
    /// iterator writes keep the old format, rather than claim an index nobody recorded).
    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        let hasBatchIndex = state.counters.count == 2
        try state.expect("unbatch", counters: hasBatchIndex ? 2 : 1, children: 1)
        let nextBatch = UnbatchInputPosition(index: hasBatchIndex ? state.counters[1] : 0, countedFromResume: !hasBatchIndex)
        guard nextBatch.index >= 0, state.counters[0] >= 0 else {
            throw DatasetError.incompatibleState(expected: "an offset and a batch index of 0 or more",
                                                 found: "offset \(state.counters[0]), batch index \(nextBatch.index)")
        }
        var iterator = Iterator(dataset: self, base: try base.makeIterator(resumingFrom: state.children[0]),
                                before: state.children[0], nextBatch: nextBatch)
        let offset = state.counters[0]
        if offset > 0 {
            guard try iterator.readBatch() else {
                throw DatasetError.incompatibleState(expected: "a batch to resume inside", found: "the end of the input")
            }
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
        /// The position of the next batch to read from `base`.
        var nextBatch: UnbatchInputPosition

        init(dataset: Unbatched, base: Base.Iterator, before: IteratorState, nextBatch: UnbatchInputPosition) {
            self.dataset = dataset
            self.base = base
            self.before = before
            self.nextBatch = nextBatch
        }

        public mutating func next() throws -> Element? {
            while offset >= pending.count {
                before = base.state
                guard try readBatch() else { return nil }
            }
            defer { offset += 1 }
            return pending[offset]
        }

        /// Reads and splits the next batch; false at the end of the input.
        mutating func readBatch() throws -> Bool {
            guard let batch = try base.next() else { return false }
            pending = try dataset.split(batch, nextBatch)
            offset = 0
            nextBatch.index += 1
            return true
        }

        /// `counters`: [offset in the batch `children[0]` reads next, that batch's index in the
        /// epoch]; `children`: [base before that batch]. After a resume from a 0.1.0 state
        /// (which had no index) only [offset]: see `makeIterator(resumingFrom:)`.
        public var state: IteratorState {
            let inBatch = offset < pending.count
            let offsetNow = inBatch ? offset : 0, batchIndex = inBatch ? nextBatch.index - 1 : nextBatch.index
            return IteratorState(kind: "unbatch", counters: nextBatch.countedFromResume ? [offsetNow] : [offsetNow, batchIndex],
                                 children: [inBatch ? before : base.state])
        }
    }
}

/// Which input batch `unbatch()` is splitting, so that its errors name it: the 0-based index in
/// the epoch, or, after resuming from a state that did not record it, the count since the resume.
struct UnbatchInputPosition: CustomStringConvertible, Sendable {
    var index: Int
    var countedFromResume: Bool

    var description: String {
        countedFromResume
            ? "input batch \(index) since resuming, 0-based; its index in the epoch is unknown: the state was written without one"
            : "input batch \(index) of this epoch, 0-based"
    }
}

extension Dataset {
    /// The rows of each tensor element, along its leading dimension.
    /// - Throws: on a scalar element, ``DatasetError/invalidArgument(stage:reason:)`` naming the
    ///   input batch's 0-based index in the epoch.
    public func unbatch<A>() -> Unbatched<Self, Tensor<A>> where Element == Tensor<A> {
        Unbatched(base: self) { batch, position in
            guard batch.rank > 0 else {
                throw DatasetError.invalidArgument(stage: "unbatch", reason: "cannot unbatch a scalar tensor (\(position))")
            }
            return (0..<batch.rowCount).map { batch.row($0) }
        }
    }

    /// The row pairs of each `(features, labels)` element; both must have the same row count.
    /// - Throws: otherwise, ``DatasetError/invalidArgument(stage:reason:)`` naming both shapes and
    ///   the input batch's 0-based index in the epoch.
    public func unbatch<A, B>() -> Unbatched<Self, (Tensor<A>, Tensor<B>)> where Element == (Tensor<A>, Tensor<B>) {
        Unbatched(base: self) { batch, position in
            guard batch.0.rank > 0, batch.1.rank > 0, batch.0.rowCount == batch.1.rowCount else {
                throw DatasetError.invalidArgument(
                    stage: "unbatch", reason: "features \(batch.0.shape) and labels \(batch.1.shape) differ in rows (\(position))")
            }
            return (0..<batch.0.rowCount).map { (batch.0.row($0), batch.1.row($0)) }
        }
    }
}
