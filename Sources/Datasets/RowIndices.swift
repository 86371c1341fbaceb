/// The fast path behind `batch` over `shuffle` / `repeat` over in-memory `Slices`.
///
/// The order in which such a pipeline yields source rows depends only on the seeds, epochs and
/// buffer sizes, never on the rows themselves (tf.data's buffer shuffle picks a slot from the
/// generator and the buffer's length). So instead of materializing a tensor per row and moving
/// it through the shuffle buffer, `batch` runs the very same `Shuffled` / `Repeated` iterators
/// over the row *indices* (elements of type `Int`) and gathers each batch's rows straight from
/// the source tensors into one preallocated buffer. Because the iterators are the same code, the
/// order and the ``IteratorState`` (which stores ordinals and positions, never elements) are
/// identical to the element-by-element path, and a state from either path restores in the other.
///
/// `RowIndices` is a concrete (non-generic) dataset so that the optimizer specializes
/// `Shuffled<RowIndices>` and `Repeated<RowIndices>` for `Int` inside this module.
struct RowIndices: Dataset, Sendable {
    typealias Element = Int

    indirect enum Node: Sendable {
        case slices(count: Int)
        case shuffle(RowIndices, bufferSize: Int, seed: UInt64, reshuffleEachIteration: Bool)
        case `repeat`(RowIndices, count: Int?)
    }

    let node: Node

    private func shuffled(_ base: RowIndices, _ bufferSize: Int, _ seed: UInt64, _ reshuffle: Bool) -> Shuffled<RowIndices> {
        Shuffled(base: base, bufferSize: bufferSize, seed: seed, reshuffleEachIteration: reshuffle)
    }

    var cardinality: Cardinality {
        switch node {
        case let .slices(count): return .finite(count)
        case let .shuffle(base, _, _, _): return base.cardinality
        case let .repeat(base, count): return Repeated(base: base, count: count).cardinality
        }
    }

    func makeIterator(epoch: UInt64) -> Iterator {
        switch node {
        case let .slices(count):
            return Iterator(SliceIndexIterator(inner: Slices(count: count) { $0 }.makeIterator(epoch: epoch)))
        case let .shuffle(base, bufferSize, seed, reshuffle):
            return Iterator(ShuffleIndexIterator(inner: shuffled(base, bufferSize, seed, reshuffle).makeIterator(epoch: epoch)))
        case let .repeat(base, count):
            return Iterator(RepeatIndexIterator(inner: Repeated(base: base, count: count).makeIterator(epoch: epoch)))
        }
    }

    func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        switch node {
        case let .slices(count):
            return Iterator(SliceIndexIterator(inner: try Slices(count: count) { $0 }.makeIterator(resumingFrom: state)))
        case let .shuffle(base, bufferSize, seed, reshuffle):
            return Iterator(ShuffleIndexIterator(
                inner: try shuffled(base, bufferSize, seed, reshuffle).makeIterator(resumingFrom: state)))
        case let .repeat(base, count):
            return Iterator(RepeatIndexIterator(inner: try Repeated(base: base, count: count).makeIterator(resumingFrom: state)))
        }
    }

    /// One stage's index iterator behind an existential (one indirect call per index and stage).
    struct Iterator: DatasetIterator {
        var inner: any DatasetIterator<Int>
        init(_ inner: some DatasetIterator<Int>) { self.inner = inner }
        mutating func next() throws -> Int? { try inner.next() }
        var state: IteratorState { inner.state }
    }

    // Concrete wrappers: calling the generic iterators with concrete types here is what makes
    // the optimizer emit `Int`-specialized copies of them.
    struct SliceIndexIterator: DatasetIterator {
        var inner: Slices<Int>.Iterator
        mutating func next() -> Int? { inner.next() }
        var state: IteratorState { inner.state }
    }

    struct ShuffleIndexIterator: DatasetIterator {
        var inner: Shuffled<RowIndices>.Iterator
        mutating func next() throws -> Int? { try inner.next() }
        var state: IteratorState { inner.state }
    }

    struct RepeatIndexIterator: DatasetIterator {
        var inner: Repeated<RowIndices>.Iterator
        mutating func next() throws -> Int? { try inner.next() }
        var state: IteratorState { inner.state }
    }
}

/// A dataset that may be able to describe its elements as rows of an in-memory source, in an
/// order computable without fetching them (see ``RowIndices``). Checked at runtime by `batch`.
protocol RowIndexed {
    /// The source-row order of one pass, or `nil` when this dataset has no gatherable source.
    var rowIndices: RowIndices? { get }
    /// Stacks the source rows at the given indices into one element of type `T` with a leading
    /// batch dimension, or `nil` when the source cannot or `T` is not its element type.
    func rowGatherer<T>(as type: T.Type) -> (@Sendable (UnsafeBufferPointer<Int>) -> T)?
}

extension Slices: RowIndexed {
    var rowIndices: RowIndices? { gather == nil ? nil : RowIndices(node: .slices(count: count)) }
    func rowGatherer<T>(as type: T.Type) -> (@Sendable (UnsafeBufferPointer<Int>) -> T)? {
        gather as? @Sendable (UnsafeBufferPointer<Int>) -> T
    }
}

extension Shuffled: RowIndexed where Base: RowIndexed {
    var rowIndices: RowIndices? {
        base.rowIndices.map {
            RowIndices(node: .shuffle($0, bufferSize: bufferSize, seed: seed, reshuffleEachIteration: reshuffleEachIteration))
        }
    }
    func rowGatherer<T>(as type: T.Type) -> (@Sendable (UnsafeBufferPointer<Int>) -> T)? { base.rowGatherer(as: type) }
}

extension Repeated: RowIndexed where Base: RowIndexed {
    var rowIndices: RowIndices? { base.rowIndices.map { RowIndices(node: .repeat($0, count: count)) } }
    func rowGatherer<T>(as type: T.Type) -> (@Sendable (UnsafeBufferPointer<Int>) -> T)? { base.rowGatherer(as: type) }
}
