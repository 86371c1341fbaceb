import Foundation
import HDF5
import Testing
import Tensors
@testable import Datasets

/// The chunk-aware shuffle: every row once per epoch, one read per block per epoch, windows
/// that bound how far apart a block's rows land, a new order per epoch, exact resume.
@Suite struct BlockShuffleTests {
    @Test("every row exactly once per epoch, each window's rows from its own blocks",
          arguments: [(blockSizes: [8, 8, 8, 3, 8, 5], window: 2), ([4], 3), ([1, 1, 1], 1), ([10, 10, 10, 10], 16)])
    func everyRowOncePerEpoch(blockSizes: [Int], window: Int) {
        let starts = blockSizes.reduce(into: [0]) { $0.append($0.last! + $1) }
        for epoch: UInt64 in 0..<3 {
            let order = BlockShuffleOrder(blockSizes: blockSizes, windowBlocks: window, seed: 5, epoch: epoch)
            let positions = (0..<order.count).map(order.blockPosition)
            #expect(Set(positions.map { starts[$0.block] + $0.row }) == Set(0..<starts.last!))
            #expect(positions.count == starts.last!)
            // Blocks stay inside their window: window w's positions use only window w's blocks.
            for w in 0..<(order.windowStarts.count - 1) {
                let blocks = Set(positions[order.windowStarts[w]..<order.windowStarts[w + 1]].map(\.block))
                #expect(blocks.count <= window)
            }
        }
    }

    @Test func consecutiveEpochsAndSeedsGiveDifferentOrders() {
        let sizes = [Int](repeating: 32, count: 64)
        func rows(_ seed: UInt64, _ epoch: UInt64) -> [Int] {
            let order = BlockShuffleOrder(blockSizes: sizes, windowBlocks: 4, seed: seed, epoch: epoch)
            return (0..<order.count).map { let p = order.blockPosition($0); return p.block * 32 + p.row }
        }
        #expect(rows(1, 0) == rows(1, 0))
        #expect(rows(1, 0) != rows(1, 1))
        #expect(rows(1, 0) != rows(2, 0))
        // The block order is global: the first window's blocks are not the first blocks.
        let firstBlocks = Set(rows(1, 0).prefix(128).map { $0 / 32 })
        #expect(firstBlocks != Set(0..<4))
    }

    /// A gzip file of `rows` x 4 float32 in chunks of `chunkRows` rows; row r is [r, r, r, r].
    static func gzipFile(rows: Int, chunkRows: Int) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("batchwise-blockshuffle-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).h5")
        let file = try HDF5File.create(at: url)
        try file.write((0..<rows).flatMap { [Float](repeating: Float($0), count: 4) }, shape: [rows, 4], to: "x",
                       options: .compressed(level: 1, chunkShape: [chunkRows, 4]))
        try file.write((0..<rows).map(Int64.init), shape: [rows], to: "y")
        try file.close()
        return url
    }

    @Test("a block-shuffled epoch reads each chunk once with a cache of one window, every row exactly once")
    func oneReadPerChunkPerEpoch() throws {
        let url = try Self.gzipFile(rows: 1_000, chunkRows: 32)        // 32 blocks, the last of 8 rows
        defer { try? FileManager.default.removeItem(at: url) }
        let window = 4
        let source = try HDF5RowSource(file: url, path: "/x", as: Float.self, cacheBytes: window * 32 * 4 * 4)
        #expect(source.isCompressed && source.blockRows == 32)
        let batches = source.blockShuffle(windowBlocks: window, seed: 11).batch(50)   // stackedElements: one read per batch
        for epoch: UInt64 in 0..<2 {
            let before = source.blockReads
            var seen: [Int] = []
            try batches.forEach(epoch: epoch) { batch in seen += batch.scalars.enumerated().filter { $0.offset % 4 == 0 }.map { Int($0.element) } }
            #expect(seen.sorted() == Array(0..<1_000))
            // Each block once; after the first epoch, blocks of its last window may still be cached.
            let reads = source.blockReads - before
            #expect(epoch == 0 ? reads == 32 : (32 - window...32).contains(reads), "epoch \(epoch): \(reads) block reads for 32 blocks")
        }
        // A row-by-row global order over the same source reads about a block per row.
        let before = source.blockReads
        let scattered = (0..<200).map { ($0 * 379) % 1_000 }
        for row in scattered { _ = try source.element(at: row) }
        #expect(source.blockReads - before > 150)
    }

    @Test func blockShuffledBatchesAndRowsResumeExactly() throws {
        let url = try Self.gzipFile(rows: 300, chunkRows: 16)
        defer { try? FileManager.default.removeItem(at: url) }
        let pairs = try HDF5AlignedRows(files: [url], x: "/x", as: Float.self, y: "/y", as: Int64.self)
        let shuffled = pairs.blockShuffle(windowBlocks: 3, seed: 4)
        try expectResumesExactly(shuffled, total: 300, cuts: [0, 1, 47, 48, 299, 300], epoch: 2, key: { $0.1.scalars })
        // Random access agrees with iteration, and a batch is the rows at its positions.
        var iterator = shuffled.makeIterator(epoch: 2)
        let streamed = try pull(&iterator, 40).map { $0.1.scalars[0] }
        #expect(try (0..<40).map { try shuffled.element(at: $0, epoch: 2).1.scalars[0] } == streamed)
        #expect(try shuffled.stackedElements(at: Array(0..<40), epoch: 2)?.1.scalars == streamed)
        // The state is a few integers whatever the row count, and another seed is refused.
        #expect(iterator.state.counters == [40, 40] && iterator.state.seeds == [2] && iterator.state.indices.isEmpty)
        #expect(try iterator.state.encoded().count <= 512)
        let error = #expect(throws: DatasetError.self) {
            try pairs.blockShuffle(windowBlocks: 3, seed: 5).makeIterator(resumingFrom: iterator.state)
        }
        guard case let .mismatchedState(_, parameter, saved, current) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(parameter == "seed" && saved == "4" && current == "5")
    }
}
