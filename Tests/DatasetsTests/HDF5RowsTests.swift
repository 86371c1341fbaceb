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
        for (file, path) in [(url.deletingLastPathComponent().appendingPathComponent("absent.h5"), "/x"), (url, "/nope")] {
            do {
                _ = try HDF5Rows(file: file, path: path, as: Float.self)
                Issue.record("expected an error for \(file.path):\(path)")
            } catch let DatasetError.sourceFailed(source, _, _) {
                #expect(source == "\(file.path):\(path)")
            }
        }
        let wrongType = #expect(throws: DatasetError.self) { try HDF5Rows(file: url, path: "/x", as: Int64.self) }
        guard case let .sourceFailed(source, _, _)? = wrongType else {
            Issue.record("expected sourceFailed naming the file and path, got \(String(describing: wrongType))")
            return
        }
        #expect(source == "\(url.path):/x")
    }
}
