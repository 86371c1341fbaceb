import Foundation
import HDF5
import Testing
import Tensors
@testable import Datasets

@Suite struct HDF5RowsTests {
    /// A file with /x float32 [rows, 3] (row r = [r, r + 0.5, -r]) and /y int64 [rows].
    static func makeFile(rows: Int) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("batchwise-hdf5rows-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).h5")
        let file = try HDF5File.create(at: url)
        let x = (0..<rows).flatMap { r in [Float(r), Float(r) + 0.5, -Float(r)] }
        try file.write(x, shape: [rows, 3], to: "x")
        try file.write((0..<rows).map { Int64($0 % 7) }, shape: [rows], to: "y")
        try file.close()
        return url
    }

    @Test func streamsEveryRowInOrderHoldingAtMostOneChunk() throws {
        let url = try Self.makeFile(rows: 1_000)
        defer { try? FileManager.default.removeItem(at: url) }
        let rows = try HDF5Rows(file: url, path: "/x", as: Float.self, chunkRows: 64)
        #expect(rows.cardinality == .finite(1_000))
        var iterator = rows.makeIterator()
        var seen = 0
        while let row = try iterator.next() {
            #expect(row.shape == [3])
            #expect(row.scalars == [Float(seen), Float(seen) + 0.5, -Float(seen)])
            #expect(iterator.bufferedRows <= 64)
            seen += 1
        }
        #expect(seen == 1_000)
    }

    @Test func featuresAndLabelsZipIntoBatchesAndResumeExactly() throws {
        let url = try Self.makeFile(rows: 300)
        defer { try? FileManager.default.removeItem(at: url) }
        let pipeline = try HDF5Rows(file: url, path: "/x", as: Float.self, chunkRows: 50)
            .zip(try HDF5Rows(file: url, path: "/y", as: Int64.self, chunkRows: 50))
            .shuffle(bufferSize: 100, seed: 4).batch(32)
        var straight = pipeline.makeIterator()
        var first: [(Tensor<Float>, Tensor<Int64>)] = []
        for _ in 0..<4 { first.append(try #require(try straight.next())) }
        let saved = try straight.state.encoded()
        var expected: [[Float]] = []
        while let batch = try straight.next() { expected.append(batch.0.scalars) }
        var resumed = try pipeline.makeIterator(resumingFrom: IteratorState(encoded: saved))
        var got: [[Float]] = []
        while let batch = try resumed.next() { got.append(batch.0.scalars) }
        #expect(first[0].0.shape == [32, 3] && first[0].1.shape == [32])
        #expect(got == expected)
        #expect(!got.isEmpty)
    }

    @Test func aMissingFileOrPathOrWrongTypeIsATypedErrorNamingFileAndPath() throws {
        let url = try Self.makeFile(rows: 5)
        defer { try? FileManager.default.removeItem(at: url) }
        let absent = url.deletingLastPathComponent().appendingPathComponent("absent-\(getpid()).h5")
        for (file, path, type) in [(absent, "/x", "Float"), (url, "/nope", "Float"), (url, "/x", "Int64")] {
            do {
                if type == "Float" { _ = try HDF5Rows(file: file, path: path, as: Float.self) }
                else { _ = try HDF5Rows(file: file, path: path, as: Int64.self) }
                Issue.record("expected an error for \(file.path):\(path) as \(type)")
            } catch let error as DatasetError {
                guard case let .openFailed(failedFile, failedPath, _) = error else {
                    Issue.record("expected openFailed for \(file.path):\(path), got \(error)")
                    continue
                }
                #expect(failedFile == file.path && failedPath == path)
                let message = error.localizedDescription
                #expect(message.contains(file.path) && message.contains(path) && !message.contains("element 0"), "\(message)")
            }
        }
    }

    /// A gzip file of `rows` x 8 float32 in chunks of 100 x 4 (1,600-byte chunks, two per band
    /// of 100 rows); row r holds r * 8 ..< r * 8 + 8.
    static func makeChunkedFile(rows: Int) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("batchwise-hdf5rows-gzip-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).h5")
        let file = try HDF5File.create(at: url)
        try file.write((0..<(rows * 8)).map(Float.init), shape: [rows, 8], to: "x",
                       options: .compressed(level: 4, chunkShape: [100, 4]))
        try file.close()
        return url
    }

    /// The iterator must open the dataset with the chunk cache the dataset was given, by
    /// default room for the chunks of one block of `chunkRows` rows, not the whole dataset
    /// (which kept every decompressed chunk of a pass in memory).
    @Test func theIteratorOpensTheDatasetWithTheStreamingChunkCache() throws {
        let url = try Self.makeChunkedFile(rows: 2_000)
        defer { try? FileManager.default.removeItem(at: url) }
        let chunkBytes = 100 * 4 * 4, bandBytes = 2 * chunkBytes, datasetBytes = 2_000 * 8 * 4
        // 250 rows starting anywhere touch at most ceil(249 / 100) + 1 = 4 bands.
        let streaming = try HDF5Rows(file: url, path: "/x", as: Float.self, chunkRows: 250)
        #expect(streaming.chunkCache == .streaming(rows: 250))
        let explicit = try HDF5Rows(file: url, path: "/x", as: Float.self, chunkRows: 250, chunkCache: .bytes(40_000))
        for (rows, expected) in [(streaming, 4 * bandBytes), (explicit, 40_000)] {
            var iterator = rows.makeIterator()
            var seen = 0
            while let row = try iterator.next() {
                if seen == 0 { #expect(try iterator.reader?.chunkCacheBytes == expected) }
                #expect(row.scalars == (0..<8).map { Float(seen * 8 + $0) })
                seen += 1
            }
            #expect(seen == 2_000)
        }
        #expect(4 * bandBytes < datasetBytes / 4)
    }

    @Test func aStateFromAFileOfAnotherLengthIsRefused() throws {
        let (long, short) = (try Self.makeFile(rows: 300), try Self.makeFile(rows: 200))
        defer { for url in [long, short] { try? FileManager.default.removeItem(at: url) } }
        var iterator = try HDF5Rows(file: long, path: "/x", as: Float.self).makeIterator()
        _ = try iterator.next()
        do {
            _ = try HDF5Rows(file: short, path: "/x", as: Float.self).makeIterator(resumingFrom: iterator.state)
            Issue.record("a 300-row state was accepted by a 200-row file")
        } catch let DatasetError.mismatchedState(stage, parameter, saved, current) {
            #expect([stage, parameter, saved, current] == ["hdf5_rows", "rows", "300", "200"])
        }
    }
}
