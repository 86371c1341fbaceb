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

    /// The common shapes as statically typed chains: no existential between the stages, and
    /// the shuffle keeps one buffer (see ``ShuffledRowIndices``).
    fileprivate typealias ShuffledRows = ShuffledRowIndices
    fileprivate typealias RepeatedShuffledRows = Repeated<ShuffledRowIndices>

    private static func rows(_ count: Int) -> Slices<Int> { Slices(count: count) { $0 } }

    private var repeatedShuffledRows: RepeatedShuffledRows? {
        guard case let .repeat(inner, repeats) = node, let shuffled = inner.shuffledRows else { return nil }
        return Repeated(base: shuffled, count: repeats)
    }

    private var shuffledRows: ShuffledRows? {
        guard case let .shuffle(source, bufferSize, seed, reshuffle) = node, case let .slices(count) = source.node else { return nil }
        return ShuffledRowIndices(count: count, bufferSize: bufferSize, seed: seed, reshuffleEachIteration: reshuffle)
    }

    func makeIterator(epoch: UInt64) -> Iterator {
        if let typed = repeatedShuffledRows { return Iterator(repeatedShuffled: typed.makeIterator(epoch: epoch)) }
        if let typed = shuffledRows { return Iterator(shuffled: typed.makeIterator(epoch: epoch)) }
        switch node {
        case let .slices(count):
            return Iterator(SliceIndexIterator(inner: Self.rows(count).makeIterator(epoch: epoch)))
        case let .shuffle(base, bufferSize, seed, reshuffle):
            return Iterator(ShuffleIndexIterator(inner: shuffled(base, bufferSize, seed, reshuffle).makeIterator(epoch: epoch)))
        case let .repeat(base, count):
            return Iterator(RepeatIndexIterator(inner: Repeated(base: base, count: count).makeIterator(epoch: epoch)))
        }
    }

    func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        if let typed = repeatedShuffledRows { return Iterator(repeatedShuffled: try typed.makeIterator(resumingFrom: state)) }
        if let typed = shuffledRows { return Iterator(shuffled: try typed.makeIterator(resumingFrom: state)) }
        switch node {
        case let .slices(count):
            return Iterator(SliceIndexIterator(inner: try Self.rows(count).makeIterator(resumingFrom: state)))
        case let .shuffle(base, bufferSize, seed, reshuffle):
            return Iterator(ShuffleIndexIterator(
                inner: try shuffled(base, bufferSize, seed, reshuffle).makeIterator(resumingFrom: state)))
        case let .repeat(base, count):
            return Iterator(RepeatIndexIterator(inner: try Repeated(base: base, count: count).makeIterator(resumingFrom: state)))
        }
    }

    /// The index iterator: a typed chain for the common shapes, else one existential per stage.
    struct Iterator: DatasetIterator {
        private var repeatedShuffled: RepeatedShuffledRows.Iterator?
        private var shuffled: ShuffledRows.Iterator?
        private var general: (any DatasetIterator<Int>)?

        init(_ inner: some DatasetIterator<Int>) { general = inner }
        fileprivate init(repeatedShuffled: RepeatedShuffledRows.Iterator) { self.repeatedShuffled = repeatedShuffled }
        fileprivate init(shuffled: ShuffledRows.Iterator) { self.shuffled = shuffled }

        mutating func next() throws -> Int? {
            if repeatedShuffled != nil { return try repeatedShuffled!.next() }
            if shuffled != nil { return try shuffled!.next() }
            return try general!.next()
        }

        var state: IteratorState { repeatedShuffled?.state ?? shuffled?.state ?? general!.state }
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
