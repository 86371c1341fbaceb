import Tensors

/// A source whose rows are grouped in blocks that are cheapest to read together (for HDF5, the
/// rows one band of chunks covers), read by batch.
protocol BlockRowSource: Dataset {
    /// Rows in each block, in block order; the blocks cover the rows in order.
    var blockSizes: [Int] { get }
    /// The global index of block `block`'s first row.
    func firstRow(ofBlock block: Int) -> Int
    /// The rows at `indices` stacked into one element with a leading dimension.
    func gather(_ indices: [Int]) throws -> Element
    /// The settings of the source a saved state must match.
    var blockStateParameters: [String: String] { get }
}

/// The rows of a chunked source in a chunk-aware order: blocks in a seeded global order, rows
/// shuffled within windows of `windowBlocks` blocks, a new order every epoch.
///
/// The construction, for epoch `e` with key `k = derivedSeed(seed, e)`:
/// 1. **Blocks, globally.** A seeded bijection on the block numbers (a four-round Feistel
///    network with cycle-walking, keyed by `k`) lists the blocks in a random order; each run of
///    `windowBlocks` consecutive blocks in that list is a *window*.
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
/// ``HDF5AlignedRows/blockShuffle(windowBlocks:seed:)``. With a source cache of at least
/// `windowBlocks` blocks each block is read, and each chunk decompressed, once per epoch.
/// ``batch(_:dropRemainder:)`` reads each batch's rows in one batched read. The iterator
/// state is `(epoch, position)` plus the settings, whatever the row count.
///
/// ```swift
/// let x = try HDF5RowSource(file: url, path: "/x", as: Float.self, cacheBytes: 32 << 20)
/// var batches = x.blockShuffle(windowBlocks: 16, seed: 7).batch(256).makeIterator(epoch: 0)
/// let first = try batches.next()              // [256] + x.rowShape
/// ```
public struct BlockShuffled<Source: Dataset>: Dataset, Sendable where Source: Sendable {
    public typealias Element = Source.Element
    /// The source whose rows are shuffled.
    public let source: Source
    /// The order: which source row comes at each position of an epoch.
    public let indices: BlockShuffledIndices
    let read: @Sendable ([Int]) throws -> Element

    init(source: Source, windowBlocks: Int, seed: UInt64) where Source: BlockRowSource {
        self.source = source
        indices = BlockShuffledIndices(blockSizes: source.blockSizes, blockStarts: (0..<source.blockSizes.count).map(source.firstRow(ofBlock:)),
                                       windowBlocks: windowBlocks, seed: seed, sourceParameters: source.blockStateParameters)
        read = { try source.gather($0) }
    }

    /// Blocks whose rows are shuffled together.
    public var windowBlocks: Int { indices.windowBlocks }
    /// The seed; epoch `e` uses the order keyed by `derivedSeed(seed, e)`.
    public var seed: UInt64 { indices.seed }
    /// All rows.
    public var count: Int { indices.count }

    public var cardinality: Cardinality { .finite(count) }

    public func makeIterator(epoch: UInt64) -> Iterator { Iterator(dataset: self, cursor: indices.makeIterator(epoch: epoch)) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        Iterator(dataset: self, cursor: try indices.makeIterator(resumingFrom: state))
    }

    /// Rows one at a time, in the epoch's order.
    public struct Iterator: DatasetIterator {
        let dataset: BlockShuffled
        var cursor: BlockShuffledIndices.Iterator

        public mutating func next() throws -> Element? {
            guard let row = cursor.next(1).first else { return nil }
            return try dataset.read([row])
        }

        /// `counters`: [epoch, next position]; `parameters`: the seed, the window and the source's.
        public var state: IteratorState { cursor.state }
    }

    /// Batches of `size` rows in the epoch's order, each read in one batched read (the last
    /// batch shorter unless `dropRemainder`).
    public func batch(_ size: Int, dropRemainder: Bool = false) -> BlockShuffledBatches<Source> {
        BlockShuffledBatches(rows: self, size: size, dropRemainder: dropRemainder)
    }
}

/// The source row indices of a block shuffle (see ``BlockShuffled``), one epoch at a time:
/// what ``BlockShuffled`` reads, for callers that read the rows themselves.
///
/// ```swift
/// let order = x.blockShuffledIndices(windowBlocks: 8, seed: 3, rows: 9_000)   // rows 0..<9000 only
/// let firstRows = try order.collect(limit: 4)
/// ```
public struct BlockShuffledIndices: Dataset, Sendable {
    public typealias Element = Int
    /// Rows in each block, in block order.
    let blockSizes: [Int]
    /// Each block's first source row.
    let blockStarts: [Int]
    /// Blocks whose rows are shuffled together.
    public let windowBlocks: Int
    /// The seed; epoch `e` uses the order keyed by `derivedSeed(seed, e)`.
    public let seed: UInt64
    let sourceParameters: [String: String]

    init(blockSizes: [Int], blockStarts: [Int], windowBlocks: Int, seed: UInt64, sourceParameters: [String: String]) {
        self.blockSizes = blockSizes
        self.blockStarts = blockStarts
        self.windowBlocks = Swift.max(1, windowBlocks)
        self.seed = seed
        self.sourceParameters = sourceParameters
    }

    /// All rows.
    public var count: Int { blockSizes.reduce(0, +) }

    public var cardinality: Cardinality { .finite(count) }

    /// The order of epoch `epoch`.
    func order(epoch: UInt64) -> BlockShuffleOrder {
        BlockShuffleOrder(blockSizes: blockSizes, windowBlocks: windowBlocks, seed: seed, epoch: epoch)
    }

    var stateParameters: [String: String] {
        sourceParameters.merging(["seed": "\(seed)", "windowBlocks": "\(windowBlocks)", "count": "\(count)"]) { _, new in new }
    }

    public func makeIterator(epoch: UInt64) -> Iterator { Iterator(indices: self, epoch: epoch, position: 0) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try Iterator(indices: self, state: state)
    }

    /// The position in an epoch's order, with the current window cached.
    public struct Iterator: DatasetIterator {
        let indices: BlockShuffledIndices
        let epoch: UInt64
        let order: BlockShuffleOrder
        private(set) var position: Int
        private var window: BlockShuffleOrder.Window?

        init(indices: BlockShuffledIndices, epoch: UInt64, position: Int) {
            self.indices = indices
            self.epoch = epoch
            self.order = indices.order(epoch: epoch)
            self.position = position
        }

        init(indices: BlockShuffledIndices, state: IteratorState, kind: String = "block_shuffle",
             parameters: [String: String]? = nil) throws {
            try state.expect(kind, counters: 2, parameters: parameters ?? indices.stateParameters)
            let (epoch, position) = (state.counters[0], state.counters[1])
            guard epoch >= 0, position >= 0, position <= indices.count else {
                throw DatasetError.incompatibleState(expected: "\(kind) of \(indices.count) rows",
                                                     found: "epoch \(epoch), position \(position)")
            }
            self.init(indices: indices, epoch: UInt64(epoch), position: position)
        }

        public mutating func next() throws -> Int? { next(1).first }

        /// The source rows at the next `limit` positions (fewer at the end of the epoch).
        mutating func next(_ limit: Int) -> [Int] {
            var rows: [Int] = []
            rows.reserveCapacity(Swift.max(0, Swift.min(limit, order.count - position)))
            while rows.count < limit && position < order.count {
                if window == nil || !window!.positions.contains(position) { window = order.window(at: position) }
                let (block, row) = window!.blockPosition(position)
                rows.append(indices.blockStarts[block] + row)
                position += 1
            }
            return rows
        }

        /// Moves back to `position` (a batch that was not handed out).
        mutating func rewind(to position: Int) { self.position = position }

        func state(kind: String, parameters: [String: String]) -> IteratorState {
            IteratorState(kind: kind, counters: [Int(epoch), position], parameters: parameters)
        }

        /// `counters`: [epoch, next position]; `parameters`: the seed, the window, the row count and the source's.
        public var state: IteratorState { state(kind: "block_shuffle", parameters: indices.stateParameters) }
    }
}

/// ``BlockShuffled`` rows read and stacked `size` at a time (see ``BlockShuffled/batch(_:dropRemainder:)``).
///
/// ```swift
/// let batches = try HDF5RowSource(file: url, path: "/x", as: Float.self).blockShuffle(seed: 1).batch(256)
/// ```
public struct BlockShuffledBatches<Source: Dataset>: Dataset, Sendable where Source: Sendable {
    public typealias Element = Source.Element
    /// The shuffled rows.
    public let rows: BlockShuffled<Source>
    /// Rows per batch.
    public let size: Int
    /// Whether a last, short batch is dropped.
    public let dropRemainder: Bool

    public var cardinality: Cardinality {
        let n = rows.count, size = Swift.max(1, size)
        return .finite(dropRemainder ? n / size : (n + size - 1) / size)
    }

    var stateParameters: [String: String] {
        rows.indices.stateParameters.merging(["size": "\(size)", "dropRemainder": "\(dropRemainder)"]) { _, new in new }
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        Iterator(batches: self, cursor: rows.indices.makeIterator(epoch: epoch))
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        Iterator(batches: self, cursor: try .init(indices: rows.indices, state: state, kind: "block_shuffle_batch",
                                                  parameters: stateParameters))
    }

    /// One epoch's batches.
    public struct Iterator: DatasetIterator {
        let batches: BlockShuffledBatches
        var cursor: BlockShuffledIndices.Iterator

        public mutating func next() throws -> Element? {
            let size = batches.size
            guard size >= 1 else {
                throw DatasetError.invalidArgument(stage: "batch", reason: "the batch size must be >= 1, got \(size)")
            }
            let start = cursor.position
            let rows = cursor.next(size)
            guard !rows.isEmpty, rows.count == size || !batches.dropRemainder else {
                cursor.rewind(to: start)
                return nil
            }
            return try batches.rows.read(rows)
        }

        /// `counters`: [epoch, next position]; `parameters`: batch size, seed, window and the source's.
        public var state: IteratorState { cursor.state(kind: "block_shuffle_batch", parameters: batches.stateParameters) }
    }
}

extension HDF5RowSource {
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
                                    sourceParameters: layout.stateParameters)
    }
}
