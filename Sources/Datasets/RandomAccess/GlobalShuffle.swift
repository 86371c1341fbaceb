import Tensors

/// A random-access dataset in a seeded random order that covers the whole dataset: element `i`
/// of pass `e` is element `π_e(i)` of the base, where `π_e` is a seeded bijection of
/// `0..<count` (a Feistel network with cycle-walking) keyed by
/// `SplitMix64.derivedSeed(seed, e)`.
///
/// Unlike the buffered `shuffle(bufferSize:seed:reshuffleEachIteration:)`, which holds
/// `bufferSize` elements and whose iterator state grows with the buffer, the global shuffle
/// holds nothing: any position of any epoch is computed in O(1) time and memory, every
/// permutation position is equally likely for every element, and the iterator state is a
/// position, an epoch and the seed. See <doc:GlobalShuffle> for the construction.
///
/// A dataset may prefer another order of the same small state
/// (``RandomAccessDataset/preferredShuffleOrder(seed:)``): a compressed ``HDF5RowSource`` or
/// ``HDF5AlignedRows``, alone or under `map`, is shuffled by its chunk-aware block shuffle
/// (``BlockShuffled``), which decompresses each chunk once per epoch instead of once per row.
/// ``RandomAccessDataset/globalShuffle(seed:order:)`` with ``GlobalShuffleOrder/rows`` asks for
/// the per-row permutation whatever the dataset prefers.
///
/// ```swift
/// let data = RangeDataset(0..<10).globalShuffle(seed: 42)
/// try data.collect()                       // a permutation of 0..<10
/// try data.collect(epoch: 1)               // another one, derived from (42, 1)
/// try data.element(at: 3, epoch: 1)        // its fourth element, computed directly
/// ```
public struct GloballyShuffled<Base: RandomAccessDataset>: RandomAccessDataset {
    public typealias Element = Base.Element
    public typealias Iterator = RandomAccessIterator<Self>
    /// The dataset whose order is permuted.
    public let base: Base
    /// The seed; pass `e` uses the permutation keyed by `SplitMix64.derivedSeed(seed, e)`.
    public let seed: UInt64
    /// The base's block order when it chose one (see ``isBlockShuffle``); `nil` for the per-row
    /// permutation.
    let blockOrder: BlockShuffledIndices?

    init(base: Base, seed: UInt64, order: GlobalShuffleOrder = .preferred) {
        self.base = base
        self.seed = seed
        blockOrder = order == .preferred ? base.preferredShuffleOrder(seed: seed) : nil
    }

    /// Whether the order is the base's chunk-aware block shuffle (see ``BlockShuffled``) rather
    /// than a per-row permutation.
    public var isBlockShuffle: Bool { blockOrder != nil }

    public var count: Int { base.count }

    /// The permutation of pass `epoch`.
    func permutation(_ epoch: UInt64) -> FeistelPermutation {
        FeistelPermutation(count: base.count, seed: SplitMix64.derivedSeed(seed, epoch))
    }

    /// The base positions at `indices` of pass `epoch`, after checking the indices.
    func basePositions(_ indices: [Int], epoch: UInt64) throws -> [Int] {
        try checkIndices(indices, source: "globalShuffle")
        if let blockOrder { return try blockOrder.rows(at: indices, epoch: epoch) }
        return permutation(epoch).images(of: indices)
    }

    public func element(at index: Int) throws -> Element { try element(at: index, epoch: 0) }

    public func element(at index: Int, epoch: UInt64) throws -> Element {
        try base.element(at: try basePositions([index], epoch: epoch)[0], epoch: epoch)
    }

    public func stackedElements(at indices: [Int], epoch: UInt64) throws -> Element? {
        try base.stackedElements(at: try basePositions(indices, epoch: epoch), epoch: epoch)
    }

    /// The base's stages and `globalShuffle` with its seed and, for a block order, its window
    /// (`windowBlocks`), so that a state of one order is refused by the other. The row count is
    /// the base's, recorded by its own stage: the state stays within 256 bytes.
    public var accessStages: [RandomAccessStage] {
        var parameters = ["seed": "\(seed)"]
        if let blockOrder { parameters["windowBlocks"] = "\(blockOrder.windowBlocks)" }
        return base.accessStages + [RandomAccessStage(kind: "globalShuffle", parameters: parameters)]
    }

    public func validate() throws { try base.validate() }
}

/// Which order ``RandomAccessDataset/globalShuffle(seed:order:)`` uses.
public enum GlobalShuffleOrder: Sendable, Hashable {
    /// The dataset's own choice (``RandomAccessDataset/preferredShuffleOrder(seed:)``): the
    /// chunk-aware block shuffle for a compressed HDF5 source, a per-row permutation otherwise.
    case preferred
    /// A seeded permutation of all rows, whatever the dataset prefers: every order equally
    /// likely, at the cost of a chunk decompressed per row on compressed data.
    case rows
}

extension RandomAccessDataset {
    /// Shuffles the whole dataset, new in every epoch, without a buffer (see
    /// ``GloballyShuffled``): by a seeded permutation of all elements, or by the order the
    /// dataset prefers (the chunk-aware block shuffle for a compressed ``HDF5RowSource``). Without
    /// a `seed`, one is drawn now from the system generator and kept in the returned dataset's `seed`.
    ///
    /// ```swift
    /// let epoch = RangeDataset(0..<60_000).globalShuffle(seed: 18).batch(32)
    /// ```
    public func globalShuffle(seed: UInt64? = nil) -> GloballyShuffled<Self> {
        globalShuffle(seed: seed, order: .preferred)
    }

    /// Shuffles the whole dataset in the given `order`: ``GlobalShuffleOrder/rows`` for a
    /// seeded permutation of all elements even where the dataset prefers a block order,
    /// ``GlobalShuffleOrder/preferred`` as ``globalShuffle(seed:)``.
    ///
    /// ```swift
    /// let rows = RangeDataset(0..<1_000).globalShuffle(seed: 5, order: .rows)
    /// ```
    public func globalShuffle(seed: UInt64? = nil, order: GlobalShuffleOrder) -> GloballyShuffled<Self> {
        var system = SystemRandomNumberGenerator()
        return GloballyShuffled(base: self, seed: seed ?? system.next(), order: order)
    }
}
