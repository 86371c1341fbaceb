import Foundation
import HDF5
import Testing
import Tensors
@testable import Datasets

/// `globalShuffle(seed:order: .rows)`: a per-row permutation even where the source prefers
/// blocks, and states that tell the two orders apart.
@Suite struct GlobalShuffleOrderTests {
    @Test func rowsOrderIsThePerRowPermutationOnACompressedSource() throws {
        let url = try BlockShuffleTests.gzipFile(rows: 400, chunkRows: 16)
        defer { try? FileManager.default.removeItem(at: url) }
        let source = try HDF5RowSource(file: url, path: "/x", as: Float.self, cacheBytes: 8 * 16 * 4 * 4)
        #expect(source.defaultWindowBlocks == 8)
        #expect(source.globalShuffle(seed: 3).isBlockShuffle)
        let rows = source.globalShuffle(seed: 3, order: .rows)
        #expect(!rows.isBlockShuffle)
        let order = try rows.collect(epoch: 1).flatMap(PreferredShuffleTests.rows)
        #expect(order == (try RangeDataset(0..<400).globalShuffle(seed: 3).collect(epoch: 1)))
        #expect(!RangeDataset(0..<10).globalShuffle(seed: 3, order: .preferred).isBlockShuffle)
    }

    @Test("a block-ordered state resumes exactly, fits 256 bytes, and is refused by the per-row order naming the window")
    func statesOfTheTwoOrdersDoNotMix() throws {
        let url = try BlockShuffleTests.gzipFile(rows: 400, chunkRows: 16)
        defer { try? FileManager.default.removeItem(at: url) }
        let source = try HDF5RowSource(file: url, path: "/x", as: Float.self, cacheBytes: 8 * 16 * 4 * 4)
        let blocks = source.globalShuffle(seed: 3).batch(32)
        var iterator = blocks.makeIterator(epoch: 2)
        _ = try pull(&iterator, 5)
        let saved = try IteratorState(encoded: iterator.state.encoded())
        #expect(try iterator.state.encoded().count <= 256)
        let expected = try pull(&iterator, 8).flatMap(PreferredShuffleTests.rows)
        var resumed = try blocks.makeIterator(resumingFrom: saved)
        #expect(try pull(&resumed, 8).flatMap(PreferredShuffleTests.rows) == expected)
        #expect {
            _ = try source.globalShuffle(seed: 3, order: .rows).batch(32).makeIterator(resumingFrom: saved)
        } throws: { error in
            guard case let DatasetError.mismatchedState(stage, parameter, saved, current) = error else { return false }
            return [stage, parameter, saved, current] == ["globalShuffle", "windowBlocks", "8", "none"]
        }
        // A smaller cache, a narrower window: refused too.
        let narrow = try HDF5RowSource(file: url, path: "/x", as: Float.self, cacheBytes: 4 * 16 * 4 * 4)
        #expect(throws: DatasetError.self) { _ = try narrow.globalShuffle(seed: 3).batch(32).makeIterator(resumingFrom: saved) }
    }
}
