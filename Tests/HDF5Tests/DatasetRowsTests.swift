import Foundation
import Testing
@testable import HDF5

@Suite("Row ranges, random rows, chunking and appends")
struct DatasetRowsTests {
    @Test func readingARowRangeReturnsExactlyThoseRows() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("r.h5"))
            let values = (0..<40).map { Double($0) }
            let dataset = try file.write(values, shape: [10, 4], to: "x", options: .compressed(level: 3, chunkShape: [3, 4]))
            let rows = try dataset.readRows(2..<5, as: Double.self)
            #expect(rows.shape == [3, 4])
            #expect(rows.values == Array(values[8..<20]))
            #expect(try dataset.readRows(7..<7, as: Double.self).shape == [0, 4])
            #expect(throws: HDF5Error.self) { try dataset.readRows(8..<11, as: Double.self) }
            #expect(throws: HDF5Error.self) { try dataset.readRows(-1..<2, as: Double.self) }
        }
    }

    @Test func readingRowsByIndexKeepsTheRequestedOrderAndRepeats() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("i.h5"))
            let dataset = try file.write((0..<30).map { Int64($0) }, shape: [10, 3], to: "x",
                                         options: HDF5DatasetOptions(chunkShape: [4, 3], gzipLevel: 1))
            let picked = try dataset.readRows(at: [9, 0, 4, 5, 0], as: Int64.self)
            #expect(picked.shape == [5, 3])
            #expect(picked.values == [27, 28, 29, 0, 1, 2, 12, 13, 14, 15, 16, 17, 0, 1, 2])
            #expect(throws: HDF5Error.self) { try dataset.readRows(at: [10], as: Int64.self) }
            #expect(HDF5Dataset.runs(of: [1, 2, 3, 7, 9, 10]) == [1..<4, 7..<8, 9..<11])
            // Contiguous datasets take the single-selection path; bools the byte path.
            let plain = try file.write((0..<30).map { Int32($0) }, shape: [10, 3], to: "plain")
            #expect(try plain.readRows(at: [9, 0, 4, 5, 0], as: Int64.self).values == [27, 28, 29, 0, 1, 2, 12, 13, 14, 15, 16, 17, 0, 1, 2])
            let flags = try file.write((0..<12).map { $0 % 3 == 0 }, shape: [6, 2], to: "flags", options: HDF5DatasetOptions(chunkShape: [2, 2]))
            #expect(try flags.readRows(at: [5, 0, 1], as: Bool.self).values == [false, false, true, false, false, true])
        }
    }

    @Test func randomRowsAgreeWhetherOrNotTheChunkCacheHoldsAChunk() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("cache.h5"))
            let values = (0..<(600 * 1024)).map { Float($0 % 1000) }
            // 300 x 1024 float32 chunks are 1.2 MB, bigger than libhdf5's 1 MiB default cache.
            try file.write(values, shape: [600, 1024], to: "x", options: .compressed(level: 1, chunkShape: [300, 1024]))
            let sized = try file.dataset(at: "x")
            let small = try file.dataset(at: "x", chunkCache: .libraryDefault)
            #expect(sized.cachesWholeChunks)
            #expect(!small.cachesWholeChunks)
            let rows = [599, 3, 4, 5, 300, 299, 3]
            let expected = rows.flatMap { values[($0 * 1024)..<(($0 + 1) * 1024)] }
            #expect(try sized.readRows(at: rows, as: Float.self).values == expected)
            #expect(try small.readRows(at: rows, as: Float.self).values == expected)
        }
    }

    @Test func writingRowsReplacesOnlyThoseRows() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("w.h5"))
            let dataset = try file.createDataset("x", of: Float.self, shape: [4, 2])
            try dataset.writeRows([Float(1), 2, 3, 4], startingAt: 1)
            #expect(try dataset.read(as: Float.self).values == [0, 0, 1, 2, 3, 4, 0, 0])
            #expect(throws: HDF5Error.self) { try dataset.writeRows([Float(1), 2, 3, 4], startingAt: 3) }
            #expect(throws: HDF5Error.self) { try dataset.writeRows([Float(1), 2, 3], startingAt: 0) }
        }
    }

    @Test func extendibleCompressedDatasetsGrowByAppendingRows() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("a.h5")
            let file = try HDF5File.create(at: url)
            let options = HDF5DatasetOptions(chunkShape: [2, 3], gzipLevel: 6, shuffle: true, extendible: true)
            let log = try file.createDataset("log", of: Float.self, shape: [0, 3], options: options)
            try log.append([Float(1), 2, 3])
            try log.append([Float(4), 5, 6, 7, 8, 9])
            #expect(throws: HDF5Error.self) { try log.append([Float(1)]) }
            try file.close()

            let reopened = try HDF5File.open(at: url)
            let dataset = try reopened.dataset(at: "log")
            #expect(try dataset.shape == [3, 3])
            #expect(try dataset.read(as: Float.self).values == [1, 2, 3, 4, 5, 6, 7, 8, 9])
            #expect(dataset.isExtendible)
            #expect(dataset.chunkShape == [2, 3])
            #expect(dataset.filters == [.shuffle, .gzip(level: 6)])
        }
    }

    @Test func appendingToAFixedSizeDatasetIsRejected() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("f.h5"))
            let dataset = try file.write([Float(1), 2], to: "x")
            #expect(throws: HDF5Error.self) { try dataset.append([Float(3)]) }
            #expect(throws: HDF5Error.self) {
                try file.createDataset("s", of: Float.self, shape: [], options: .compressed())
            }
            #expect(throws: HDF5Error.self) {
                try file.createDataset("c", of: Float.self, shape: [4, 4], options: HDF5DatasetOptions(chunkShape: [4]))
            }
        }
    }

    @Test func automaticChunkCacheHoldsTheWholeDatasetUpToTheLimit() {
        let small = HDF5ChunkCache.automatic.parameters(chunkBytes: 3 << 20, datasetBytes: 256 << 20)
        #expect(small?.bytes == 256 << 20)
        let huge = HDF5ChunkCache.automatic.parameters(chunkBytes: 1 << 20, datasetBytes: 10 << 30)
        #expect(huge?.bytes == HDF5ChunkCache.automaticLimitBytes)
        let bigChunk = HDF5ChunkCache.automatic.parameters(chunkBytes: 600 << 20, datasetBytes: 1 << 30)
        #expect(bigChunk?.bytes == 600 << 20)
        #expect(HDF5ChunkCache.libraryDefault.parameters(chunkBytes: 1, datasetBytes: 1) == nil)
        #expect(HDF5ChunkCache.prime(atLeast: 1700) == 1709)
    }

    /// A read of n rows starting anywhere touches at most ceil((n - 1) / chunkRows) + 1 bands.
    @Test func streamingChunkCacheHoldsTheBandsOfOneRead() {
        let band = (rows: 4_096, bytes: 2 * (512 << 10))    // two 512 KiB chunks across each band
        let cache = { (rows: Int) in
            HDF5ChunkCache.streaming(rows: rows).parameters(chunkBytes: 512 << 10, datasetBytes: 100 << 20, band: band)?.bytes
        }
        #expect(cache(1) == 1 * band.bytes)
        #expect(cache(4_096) == 2 * band.bytes)
        #expect(cache(4_097) == 2 * band.bytes)             // rows 4_095 ..< 8_192 still span two bands
        #expect(cache(4_098) == 3 * band.bytes)
        #expect(cache(10_000) == 4 * band.bytes)
        #expect(cache(10_000_000) == 100 << 20)               // never more than the dataset's chunks
        #expect(cache(0) == 1 * band.bytes)
        #expect(HDF5ChunkCache.streaming(rows: 1).parameters(chunkBytes: 3 << 20, datasetBytes: 1 << 20)?.bytes == 3 << 20)
    }

    @Test func cacheSizingCountsPartialEdgeChunksWhole() {
        // 16384 rows in 768-row chunks is 22 chunks, not 21.33: a cache of the array size thrashes.
        let bytes = DatasetLayout.storageBytes(shape: [16384, 1024], chunkShape: [768, 1024], elementSize: 4)
        #expect(bytes == 22 * 768 * 1024 * 4)
        #expect(DatasetLayout.storageBytes(shape: [10, 4], chunkShape: nil, elementSize: 8) == 320)
        #expect(DatasetLayout.storageBytes(shape: [0, 4], chunkShape: [2, 4], elementSize: 8) == 0)
    }
}
