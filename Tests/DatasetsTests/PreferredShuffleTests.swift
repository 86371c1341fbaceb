import Foundation
import HDF5
import Testing
import Tensors
@testable import Datasets

/// `globalShuffle(seed:)` on a compressed HDF5 source picks the chunk-aware block shuffle, as
/// the CLI does, so a library pipeline decompresses each chunk once per epoch too.
@Suite struct PreferredShuffleTests {
    /// The first column of a batch of `[r, r, r, r]` rows, as row numbers.
    static func rows(_ batch: Tensor<Float>) -> [Int] {
        stride(from: 0, to: batch.scalars.count, by: 4).map { Int(batch.scalars[$0]) }
    }

    @Test("a global shuffle of a compressed source is its block shuffle: each chunk read once per epoch")
    func compressedSourcesShuffleByBlocks() throws {
        let url = try BlockShuffleTests.gzipFile(rows: 1_000, chunkRows: 32)      // 32 blocks of 512 bytes
        defer { try? FileManager.default.removeItem(at: url) }
        // A cache of 4 blocks: the default window is 4 blocks.
        let source = try HDF5RowSource(file: url, path: "/x", as: Float.self, cacheBytes: 4 * 32 * 4 * 4)
        let shuffled = source.globalShuffle(seed: 11)
        let blocks = source.blockShuffle(windowBlocks: 4, seed: 11)
        for epoch: UInt64 in 0..<2 {
            let before = source.blockReads
            let order = try (0..<1_000).map { Self.rows(try shuffled.element(at: $0, epoch: epoch))[0] }
            #expect(source.blockReads - before <= 32, "epoch \(epoch): \(source.blockReads - before) block reads for 32 blocks")
            #expect(order.sorted() == Array(0..<1_000))
            #expect(order == (try (0..<1_000).map { Self.rows(try blocks.element(at: $0, epoch: epoch))[0] }))
        }
        // Batched and under `map` too.
        let batched = try shuffled.batch(100).collect(epoch: 1).flatMap(Self.rows)
        #expect(batched == (try blocks.batch(100).collect(epoch: 1).flatMap(Self.rows)))
        let mapped = try source.map { $0 }.globalShuffle(seed: 11).collect(epoch: 1).flatMap(Self.rows)
        #expect(mapped == batched)
    }

    @Test func alignedCompressedRowsShuffleByTheFeatureBlocks() throws {
        let url = try BlockShuffleTests.gzipFile(rows: 300, chunkRows: 16)
        defer { try? FileManager.default.removeItem(at: url) }
        let pairs = try HDF5AlignedRows(files: [url], x: "/x", as: Float.self, y: "/y", as: Int64.self)
        let window = 16   // x's share of the default 64 MB cache holds far more than 16 blocks
        let shuffled = try pairs.globalShuffle(seed: 5).collect(epoch: 2).map { Int($0.1.scalars[0]) }
        let blocks = try pairs.blockShuffle(windowBlocks: window, seed: 5).collect(epoch: 2).map { Int($0.1.scalars[0]) }
        #expect(shuffled == blocks)
        #expect(shuffled.sorted() == Array(0..<300))
    }

    @Test("a contiguous source keeps the per-row permutation: the order of globalShuffle over its row numbers")
    func contiguousSourcesKeepThePerRowPermutation() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("batchwise-preferred-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).h5")
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try HDF5File.create(at: url)
        try file.write((0..<500).flatMap { [Float](repeating: Float($0), count: 4) }, shape: [500, 4], to: "x")
        try file.close()
        let source = try HDF5RowSource(file: url, path: "/x", as: Float.self)
        let order = try source.globalShuffle(seed: 9).collect(epoch: 3).flatMap(Self.rows)
        #expect(order == (try RangeDataset(0..<500).globalShuffle(seed: 9).collect(epoch: 3)))
    }
}
