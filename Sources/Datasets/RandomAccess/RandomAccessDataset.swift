/// A dataset whose elements can be read in any order: a `count` and ``element(at:)``.
///
/// Batchwise has two kinds of dataset. A streaming ``Dataset`` is pulled front to back by an
/// iterator; a random-access dataset additionally answers "what is element `i`?" without
/// reading elements `0..<i`. Tensor ``Slices`` and ``RangeDataset`` are random-access, and so
/// are `map`, ``globalShuffle(seed:)``, `shard(count:index:)`, ``slice(_:)``, `repeat` and
/// `batch` over a random-access dataset. Every random-access dataset is also a streaming
/// ``Dataset``, so `filter`, `map(parallelism:)`, `prefetch`, the buffered
/// `shuffle(bufferSize:seed:reshuffleEachIteration:)` and the other streaming adaptors apply
/// after it, and a trainer iterates it like any other pipeline.
///
/// Iterated as a stream, a random-access pipeline yields `element(at: 0)`, `element(at: 1)`,
/// ... of one pass (``RandomAccessIterator``), and its iterator state is a few named integers
/// (position, epoch, global position, and each stage's settings such as a seed or a batch
/// size), about 200 bytes whatever the number of elements.
///
/// A source implements ``count`` and ``element(at:)`` and declares its `Element` and
/// `typealias Iterator = RandomAccessIterator<Self>` (Swift does not infer them); it may implement
/// ``stackedElements(at:epoch:)`` to copy a batch's rows in one read, and ``accessStages`` to
/// record its length in iterator states. The other requirements have defaults that suit a
/// source; the random-access adaptors implement them.
///
/// ```swift
/// let rows = RangeDataset(0..<1_000_000)
/// try rows.element(at: 123_456)                            // 123456, nothing else is read
/// let epoch = rows.globalShuffle(seed: 7).shard(count: 4, index: 1).batch(256)
/// try epoch.element(at: 10).count                          // 256: batch 10 of shard 1, gathered directly
/// ```
public protocol RandomAccessDataset<Element>: Dataset {
    /// The number of elements in one pass (`Int.max` for a forever-`repeat`).
    var count: Int { get }

    /// Element `index` of pass 0.
    /// - Throws: ``DatasetError/indexOutOfRange(source:index:count:)`` when `index` is not in
    ///   `0..<count`, or the error reading or transforming the element raised.
    func element(at index: Int) throws -> Element

    /// Element `index` of pass `epoch`. Only adaptors whose order depends on the pass
    /// (``globalShuffle(seed:)``, `repeat`) need to implement it; the default is
    /// ``element(at:)``.
    func element(at index: Int, epoch: UInt64) throws -> Element

    /// The elements at `indices` of pass `epoch` stacked into one element with a leading
    /// dimension of `indices.count`, or `nil` when this dataset cannot copy them straight into
    /// a batch (then `batch` reads them one by one and stacks them). Tensor ``Slices`` copy the
    /// rows; reordering adaptors translate the indices and ask their base; the default is `nil`.
    func stackedElements(at indices: [Int], epoch: UInt64) throws -> Element?

    /// The stages of this pipeline, source first, with the settings an iterator state records
    /// and checks on restore. The default names a source of ``count`` elements.
    var accessStages: [RandomAccessStage] { get }

    /// Throws ``DatasetError/invalidArgument(stage:reason:)`` when a setting is out of range (a
    /// batch size of 0, a shard index not below the shard count). Iterators call it before the
    /// first element; the default accepts.
    func validate() throws

    /// For a pipeline containing `shard(count:index:)`, followed only by `map` and `batch`: how
    /// many elements of the order *below* the shard (the global order all shards share) have
    /// been consumed by all shards together once each has yielded `position` elements of this
    /// dataset. `nil` when there is no such shard (the default).
    func globalPosition(afterYielding position: Int) -> Int?

    /// This pipeline with its outermost shard starting at `globalPosition` of the global order
    /// instead of 0: what a restored iterator runs, whatever the shard count it was saved with.
    /// The default (no shard) returns `self`.
    func resumingShards(atGlobalPosition globalPosition: Int) -> Self

    /// The order ``globalShuffle(seed:)`` gives this dataset instead of a per-row permutation,
    /// or `nil` (the default) for the per-row permutation. A source whose rows are cheapest read
    /// in blocks, such as a compressed ``HDF5RowSource``, returns its chunk-aware block shuffle
    /// (``BlockShuffledIndices``), so that a shuffle decompresses each chunk once per epoch;
    /// `globalShuffle(seed:order: .rows)` asks for the per-row permutation anyway.
    func preferredShuffleOrder(seed: UInt64) -> BlockShuffledIndices?
}

/// One stage of a random-access pipeline as its iterator state records it: the stage's name
/// (`"slices"`, `"globalShuffle"`, `"batch"`, ...) and the settings that decide the element
/// order (a seed, a batch size, a source length).
///
/// ```swift
/// RangeDataset(0..<10).batch(3).accessStages.map(\.kind)     // ["range", "batch"]
/// ```
public struct RandomAccessStage: Sendable, Hashable {
    /// The stage's name, used in state keys and in ``DatasetError/mismatchedState(stage:parameter:saved:current:)``.
    public var kind: String
    /// The settings, by name, as text.
    public var parameters: [String: String]
    /// Whether this stage splits the order between shards (its settings are not checked when a
    /// state is restored onto another shard layout).
    public var isShard: Bool
    /// The number of elements of the stage's input, where resuming needs it (a `repeat`).
    var inputCount = 0

    /// A stage description.
    public init(kind: String, parameters: [String: String] = [:], isShard: Bool = false) {
        self.kind = kind
        self.parameters = parameters
        self.isShard = isShard
    }
}

extension RandomAccessDataset {
    public func element(at index: Int, epoch: UInt64) throws -> Element { try element(at: index) }
    public func stackedElements(at indices: [Int], epoch: UInt64) throws -> Element? { nil }
    public var accessStages: [RandomAccessStage] { [RandomAccessStage(kind: "source", parameters: ["count": "\(count)"])] }
    public func validate() throws {}
    public func globalPosition(afterYielding position: Int) -> Int? { nil }
    public func resumingShards(atGlobalPosition globalPosition: Int) -> Self { self }
    public func preferredShuffleOrder(seed: UInt64) -> BlockShuffledIndices? { nil }

    /// `.finite(count)`, or `.infinite` for a forever-`repeat`.
    public var cardinality: Cardinality { count == .max ? .infinite : .finite(count) }

    /// Throws ``DatasetError/indexOutOfRange(source:index:count:)`` unless `index` is in `0..<count`.
    func checkIndex(_ index: Int, source: String) throws {
        guard index >= 0 && index < count else {
            throw DatasetError.indexOutOfRange(source: source, index: index, count: count)
        }
    }

    /// ``checkIndex(_:source:)`` for each of `indices` in turn, reading `count` once: a batch
    /// checks its indices at every stage, and in the generic stages each read of `count` is a
    /// witness-table call.
    func checkIndices(_ indices: [Int], source: @autoclosure () -> String) throws {
        let count = self.count
        for index in indices where index < 0 || index >= count {
            throw DatasetError.indexOutOfRange(source: source(), index: index, count: count)
        }
    }
}

extension RandomAccessDataset where Iterator == RandomAccessIterator<Self> {
    /// An iterator over `element(at: 0, epoch:)`, `element(at: 1, epoch:)`, ...
    public func makeIterator(epoch: UInt64) -> Iterator { RandomAccessIterator(dataset: self, epoch: epoch) }

    /// An iterator continuing the pass saved in `state` (see ``RandomAccessIterator/state``).
    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try RandomAccessIterator(dataset: self, resumingFrom: state)
    }
}
