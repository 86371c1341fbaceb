import Foundation
import Tensors

/// A random-access source whose rows are grouped in blocks that are cheapest to read together
/// (for HDF5, the rows one band of chunks covers).
protocol BlockRowSource: RandomAccessDataset {
    /// Rows in each block, in block order; the blocks cover the rows in order.
    var blockSizes: [Int] { get }
    /// The global index of block `block`'s first row.
    func firstRow(ofBlock block: Int) -> Int
}

/// The rows of a chunked source in a chunk-aware order: blocks in a seeded global order, rows
/// shuffled within windows of `windowBlocks` blocks, a new order every epoch.
///
/// The construction, for epoch `e` with key `k = derivedSeed(seed, e)`:
/// 1. **Blocks, globally.** A seeded bijection on the block numbers (the six-round Feistel
///    network with cycle-walking behind ``RandomAccessDataset/globalShuffle(seed:)``, keyed by
///    `k`) lists the blocks in a random order; each run of `windowBlocks` consecutive blocks in
///    that list is a *window*.
/// 2. **Rows, within a window.** The rows of a window's blocks, taken together, get a random
///    order from a second bijection keyed by `(k, window)`.
///
/// Windows are emitted one after the other, so a reader needs only one window's blocks at a
/// time. Both bijections take O(1) memory and O(1) expected work per row; the one table is each
/// window's first position (`blocks / windowBlocks` integers, derived from the seed).
///
/// **The randomness trade-off.** Rows of one block always share a window: within an epoch two
/// rows of a block are at most `windowBlocks × blockRows` positions apart, and a batch draws
/// from at most two windows' blocks. A wider window mixes more and needs a larger cache; the
/// block order is always global, and with `windowBlocks` at least the number of blocks the
/// order is one shuffle of all rows.
///
/// Built by ``HDF5RowSource/blockShuffle(windowBlocks:seed:)`` and
/// ``HDF5AlignedRows/blockShuffle(windowBlocks:seed:)``; ``RandomAccessDataset/globalShuffle(seed:)``
/// on a compressed source gives this order with the source's ``HDF5RowSource/defaultWindowBlocks``. With a source cache of at least
/// `windowBlocks` blocks each block is read, and each chunk decompressed, once per epoch. It is
/// random-access (position `p` of epoch `e` is a pure function of `p`, `e` and the seed), its
/// ``stackedElements(at:epoch:)`` reads a batch's rows in one batched read, and its iterator
/// state is a ``RandomAccessIterator``'s few integers, whatever the row count.
///
/// ```swift
/// let x = try HDF5RowSource(file: url, path: "/x", as: Float.self, cacheBytes: 32 << 20)
/// let shuffled = x.blockShuffle(windowBlocks: 16, seed: 7)
/// let batch = try shuffled.stackedElements(at: Array(0..<256), epoch: 0)   // [256] + x.rowShape
/// ```
public struct BlockShuffled<Source: RandomAccessDataset>: RandomAccessDataset, Sendable where Source: Sendable {
    public typealias Element = Source.Element
    public typealias Iterator = RandomAccessIterator<Self>
    /// The source whose rows are shuffled.
    public let source: Source
    /// The order: which source row comes at each position of an epoch.
    public let indices: BlockShuffledIndices

    init(source: Source, windowBlocks: Int, seed: UInt64) where Source: BlockRowSource {
        self.source = source
        let sizes = source.blockSizes
        indices = BlockShuffledIndices(blockSizes: sizes, blockStarts: (0..<sizes.count).map(source.firstRow(ofBlock:)),
                                       windowBlocks: windowBlocks, seed: seed, sourceStages: source.accessStages)
    }

    /// Blocks whose rows are shuffled together.
    public var windowBlocks: Int { indices.windowBlocks }
    /// The seed; epoch `e` uses the order keyed by `derivedSeed(seed, e)`.
    public var seed: UInt64 { indices.seed }
    /// All rows.
    public var count: Int { indices.count }

    /// The row at position `index` of epoch 0.
    public func element(at index: Int) throws -> Element { try element(at: index, epoch: 0) }

    /// The row at position `index` of epoch `epoch`.
    /// - Throws: ``DatasetError/indexOutOfRange(source:index:count:)``, or the source's read error.
    public func element(at index: Int, epoch: UInt64) throws -> Element {
        try source.element(at: try indices.element(at: index, epoch: epoch))
    }

    /// The rows at positions `indices` of epoch `epoch`, read by the source in one batched read.
    public func stackedElements(at indices: [Int], epoch: UInt64) throws -> Element? {
        try source.stackedElements(at: try self.indices.rows(at: indices, epoch: epoch), epoch: 0)
    }

    /// The source's stages and `blockShuffle` with its seed, window and row count.
    public var accessStages: [RandomAccessStage] { indices.accessStages }
}

/// The source row indices of a block shuffle (see ``BlockShuffled``): position `p` of epoch `e`
/// is a source row, for callers that read the rows themselves.
///
/// ```swift
/// let x = try HDF5RowSource(file: url, path: "/x", as: Float.self)
/// let order = x.blockShuffledIndices(windowBlocks: 8, seed: 3, rows: 9_000)   // rows 0..<9000 only
/// let rows = try (0..<4).map { try order.element(at: $0, epoch: 1) }
/// ```
public struct BlockShuffledIndices: RandomAccessDataset, Sendable {
    public typealias Element = Int
    public typealias Iterator = RandomAccessIterator<Self>
    /// Rows in each block, in block order.
    let blockSizes: [Int]
    /// Each block's first source row.
    let blockStarts: [Int]
    /// Blocks whose rows are shuffled together.
    public let windowBlocks: Int
    /// The seed; epoch `e` uses the order keyed by `derivedSeed(seed, e)`.
    public let seed: UInt64
    /// All rows.
    public let count: Int
    let sourceStages: [RandomAccessStage]
    private let orders: BlockOrderCache

    init(blockSizes: [Int], blockStarts: [Int], windowBlocks: Int, seed: UInt64, sourceStages: [RandomAccessStage]) {
        self.blockSizes = blockSizes
        self.blockStarts = blockStarts
        self.windowBlocks = Swift.max(1, windowBlocks)
        self.seed = seed
        self.sourceStages = sourceStages
        count = blockSizes.reduce(0, +)
        orders = BlockOrderCache()
    }

    /// The order of epoch `epoch`.
    func order(epoch: UInt64) -> BlockShuffleOrder {
        BlockShuffleOrder(blockSizes: blockSizes, windowBlocks: windowBlocks, seed: seed, epoch: epoch)
    }

    /// The source row at position `index` of epoch 0.
    public func element(at index: Int) throws -> Int { try element(at: index, epoch: 0) }

    /// The source row at position `index` of epoch `epoch`.
    /// - Throws: ``DatasetError/indexOutOfRange(source:index:count:)``.
    public func element(at index: Int, epoch: UInt64) throws -> Int { try rows(at: [index], epoch: epoch)[0] }

    /// The source rows at positions `indices` of epoch `epoch`.
    func rows(at indices: [Int], epoch: UInt64) throws -> [Int] {
        try checkIndices(indices, source: "blockShuffle")
        return orders.rows(at: indices, epoch: epoch, of: self)
    }

    /// The source's stages and `blockShuffle` with its seed, window and row count.
    public var accessStages: [RandomAccessStage] {
        sourceStages + [RandomAccessStage(kind: "blockShuffle",
                                          parameters: ["seed": "\(seed)", "windowBlocks": "\(windowBlocks)", "count": "\(count)"])]
    }
}

/// The order of the epoch last asked for and its window last used, so that consecutive
/// positions cost a Feistel evaluation, not a rebuilt window table.
private final class BlockOrderCache: @unchecked Sendable {
    private let lock = NSLock()
    private var order: (epoch: UInt64, order: BlockShuffleOrder)?
    private var window: BlockShuffleOrder.Window?

    func rows(at positions: [Int], epoch: UInt64, of indices: BlockShuffledIndices) -> [Int] {
        lock.withLock {
            if order?.epoch != epoch {
                order = (epoch, indices.order(epoch: epoch))
                window = nil
            }
            return positions.map { position in
                if window == nil || !window!.positions.contains(position) { window = order!.order.window(at: position) }
                let (block, row) = window!.blockPosition(position)
                return indices.blockStarts[block] + row
            }
        }
    }
}

extension HDF5RowSource {
    /// The window a shuffle picks by default: as many blocks as the cache holds, from 1 to 16.
    public var defaultWindowBlocks: Int {
        guard let blockRows else { return 16 }
        let blockBytes = blockRows * rowShape.reduce(1, *) * MemoryLayout<Scalar>.stride
        return Swift.max(1, Swift.min(16, cacheBytes / Swift.max(1, blockBytes)))
    }

    /// For compressed rows, the block shuffle's order with ``defaultWindowBlocks``, which
    /// ``RandomAccessDataset/globalShuffle(seed:)`` then uses (one chunk decompression per
    /// block and epoch); `nil` for uncompressed rows, which a per-row permutation reads as well.
    public func preferredShuffleOrder(seed: UInt64) -> BlockShuffledIndices? {
        isCompressed ? blockShuffledIndices(windowBlocks: defaultWindowBlocks, seed: seed) : nil
    }

    /// The rows in the chunk-aware order (see ``BlockShuffled``): blocks of ``blockRows``
    /// rows (1,024 for a contiguous dataset) in a seeded global order, rows shuffled within
    /// windows of `windowBlocks` blocks. Each block is read once per epoch when the cache holds
    /// `windowBlocks` blocks.
    public func blockShuffle(windowBlocks: Int = 16, seed: UInt64) -> BlockShuffled<Self> {
        BlockShuffled(source: self, windowBlocks: windowBlocks, seed: seed)
    }

    /// The row indices of ``blockShuffle(windowBlocks:seed:)``'s order, over the first `rows`
    /// rows only when given (the blocks cut at `rows`), for a caller that reads the rows in
    /// batches of its own.
    public func blockShuffledIndices(windowBlocks: Int = 16, seed: UInt64, rows: Int? = nil) -> BlockShuffledIndices {
        let limit = Swift.min(rows ?? count, count)
        var sizes: [Int] = [], starts: [Int] = []
        for (block, size) in layout.blockSizes.enumerated() {
            let start = layout.firstRow(ofBlock: block)
            guard start < limit else { break }
            sizes.append(Swift.min(size, limit - start))
            starts.append(start)
        }
        return BlockShuffledIndices(blockSizes: sizes, blockStarts: starts, windowBlocks: windowBlocks, seed: seed,
                                    sourceStages: accessStages)
    }
}
