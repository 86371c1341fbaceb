import Tensors

/// The chunk-aware shuffle's order for one epoch: which row comes at each position.
///
/// Rows are grouped into *blocks* (for HDF5, the rows one band of chunks covers). The order is
/// built in two seeded steps:
/// 1. **Blocks, globally.** A seeded bijection on the block numbers `0..<blocks` (the global
///    shuffle's `FeistelPermutation`, keyed by `(seed, epoch)`) lists the blocks in a random order.
///    Consecutive runs of `windowBlocks` blocks in that list form *windows*.
/// 2. **Rows, within a window.** The rows of a window's blocks, taken together, are put in a
///    random order by a second bijection on `0..<rowsInWindow`, keyed by `(seed, epoch, window)`.
///
/// Each window's rows are emitted before the next window's, so a reader needs only the
/// window's blocks at a time: with a cache of `windowBlocks` blocks every block is read (and
/// decompressed) once per epoch. Both bijections take O(1) memory and O(1) expected work per
/// index; the only table is each window's first position (`blocks / windowBlocks` integers,
/// derived from the seed), so an iterator's state stays `(seed, epoch, position)`.
///
/// **The trade-off.** Rows that share a block always land in the same window, so within an
/// epoch two rows of one block are at most `windowBlocks × blockRows` positions apart, and
/// a batch draws from at most `windowBlocks` blocks. A larger window mixes more (at
/// `windowBlocks >= blocks` the row order is a uniform-looking global shuffle) and needs a
/// larger cache; the block order itself is always global.
///
/// ```swift
/// @testable import Datasets
/// let order = BlockShuffleOrder(blockSizes: [4, 4, 2], windowBlocks: 2, seed: 7, epoch: 0)
/// print((0..<10).map(order.blockPosition))   // every row once, as (block, row in block)
/// ```
struct BlockShuffleOrder: Sendable {
    /// Rows in each block, in block order.
    let blockSizes: [Int]
    /// Blocks per window (at least 1).
    let windowBlocks: Int
    /// The key of this epoch (`derivedSeed(seed, epoch)`).
    let epochKey: UInt64
    /// The permutation of the blocks.
    let blockPermutation: FeistelPermutation
    /// The first position of each window, plus the total row count at the end.
    let windowStarts: [Int]

    init(blockSizes: [Int], windowBlocks: Int, seed: UInt64, epoch: UInt64) {
        self.blockSizes = blockSizes
        self.windowBlocks = Swift.min(Swift.max(1, windowBlocks), Swift.max(1, blockSizes.count))
        epochKey = SplitMix64.derivedSeed(seed, epoch)
        blockPermutation = FeistelPermutation(count: blockSizes.count, seed: SplitMix64.derivedSeed(epochKey, 0))
        var starts = [0]
        starts.reserveCapacity(blockSizes.count / self.windowBlocks + 2)
        var total = 0
        for position in 0..<blockSizes.count {
            total += blockSizes[blockPermutation[position]]
            if (position + 1) % self.windowBlocks == 0 || position + 1 == blockSizes.count { starts.append(total) }
        }
        windowStarts = starts
    }

    /// All rows.
    var count: Int { windowStarts.last ?? 0 }

    /// The window holding `position`.
    func window(at position: Int) -> Window {
        var low = 0
        var high = windowStarts.count - 2
        while low < high {
            let middle = (low + high + 1) / 2
            if windowStarts[middle] <= position { low = middle } else { high = middle - 1 }
        }
        return Window(order: self, index: low)
    }

    /// The block and the row inside it at `position` (in `0..<count`).
    func blockPosition(_ position: Int) -> (block: Int, row: Int) {
        window(at: position).blockPosition(position)
    }

    /// One window: its blocks, their cumulative sizes and its row permutation.
    struct Window: Sendable {
        /// The window's number in the epoch.
        let index: Int
        /// The window's positions.
        let positions: Range<Int>
        /// The window's blocks, in the epoch's block order.
        let blocks: [Int]
        /// Rows before each block inside the window, plus the window's row count at the end.
        let offsets: [Int]
        /// The permutation of the window's rows.
        let permutation: FeistelPermutation

        init(order: BlockShuffleOrder, index: Int) {
            self.index = index
            positions = order.windowStarts[index]..<order.windowStarts[index + 1]
            let first = index * order.windowBlocks
            let last = Swift.min(order.blockSizes.count, first + order.windowBlocks)
            blocks = (first..<last).map { order.blockPermutation[$0] }
            offsets = blocks.reduce(into: [0]) { $0.append($0.last! + order.blockSizes[$1]) }
            permutation = FeistelPermutation(count: positions.count,
                                             seed: SplitMix64.derivedSeed(order.epochKey, 1, UInt64(index)))
        }

        /// The block and the row inside it at `position` (inside ``positions``).
        func blockPosition(_ position: Int) -> (block: Int, row: Int) {
            let local = permutation[position - positions.lowerBound]
            var low = 0, high = blocks.count - 1     // the last block starting at or before `local`
            while low < high {
                let middle = (low + high + 1) / 2
                if offsets[middle] <= local { low = middle } else { high = middle - 1 }
            }
            return (blocks[low], local - offsets[low])
        }
    }
}
