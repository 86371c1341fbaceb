import Foundation
import HDF5
import Testing
import Tensors
@testable import Datasets

/// `HDF5RowSource` / `HDF5AlignedRows`: random access over one file or several files read as one,
/// and the typed errors naming file and path.
@Suite struct HDF5RowSourceTests {
    static func folder(_ label: String = #function) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("batchwise-rowsource-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// /x float32 [rows, 4] with row r = [first + r, ..., first + r + 0.75] and /y int64 [yRows]
    /// (= first + r); chunked and gzip-compressed in chunks of `chunkRows` rows unless nil.
    static func write(_ url: URL, rows: Int, first: Int = 0, chunkRows: Int? = nil, yRows: Int? = nil) throws {
        let file = try HDF5File.create(at: url)
        let x = (0..<rows).flatMap { r in (0..<4).map { Float(first + r) + Float($0) / 4 } }
        let options: HDF5DatasetOptions = chunkRows.map { .compressed(level: 1, chunkShape: [$0, 4]) } ?? .init()
        try file.write(x, shape: [rows, 4], to: "x", options: options)
        try file.write((0..<(yRows ?? rows)).map { Int64(first + $0) }, shape: [yRows ?? rows], to: "y")
        try file.close()
    }

    static func firstColumn(_ t: Tensor<Float>) -> [Int] {
        stride(from: 0, to: t.scalars.count, by: 4).map { Int(t.scalars[$0]) }
    }

    @Test("rows are read by index across files, in any order, for contiguous and gzip-chunked storage",
          arguments: [nil, 16] as [Int?])
    func randomAccessAcrossFiles(chunkRows: Int?) throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a.h5"), b = folder.appendingPathComponent("b.h5")
        try Self.write(a, rows: 50, chunkRows: chunkRows)
        try Self.write(b, rows: 30, first: 50, chunkRows: chunkRows)
        let x = try HDF5RowSource(files: [a, b], path: "/x", as: Float.self)
        #expect(x.count == 80 && x.rowShape == [4] && x.isCompressed == (chunkRows != nil))
        let indices = [79, 0, 50, 49, 12, 12, 63]
        let batch = try x.rows(at: indices)
        #expect(batch.shape == [7, 4])
        #expect(Self.firstColumn(batch) == indices)
        #expect(try x.element(at: 51).scalars == [51, 51.25, 51.5, 51.75])
        // In order as a dataset, and resumable.
        #expect(try x.collect().map { Int($0.scalars[0]) } == Array(0..<80))
        try expectResumesExactly(x, total: 80, cuts: [0, 17, 50, 80], key: { $0.scalars })
        let pairs = try HDF5AlignedRows(files: [a, b], x: "/x", as: Float.self, y: "/y", as: Int64.self)
        let (features, labels) = try pairs.rows(at: indices)
        #expect(Self.firstColumn(features) == indices && labels.scalars == indices.map(Int64.init))
    }

    @Test func aMissingFileOrPathIsATypedErrorNamingFileAndPath() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("good.h5")
        try Self.write(good, rows: 10)
        let missing = folder.appendingPathComponent("missing.h5")
        for (files, path, culprit) in [([good, missing], "/x", missing), ([good], "/nope", good)] {
            let error = #expect(throws: DatasetError.self) { try HDF5RowSource(files: files, path: path, as: Float.self) }
            guard case let .openFailed(file, failedPath, _) = error else { Issue.record("got \(String(describing: error))"); continue }
            #expect(file == culprit.path && failedPath == path)
        }
    }

    @Test func filesWithDifferentLayoutsAreRefusedNamingTheFile() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let plain = folder.appendingPathComponent("plain.h5"), gzip = folder.appendingPathComponent("gzip.h5")
        let wide = folder.appendingPathComponent("wide.h5")
        try Self.write(plain, rows: 10)
        try Self.write(gzip, rows: 10, chunkRows: 5)
        let file = try HDF5File.create(at: wide)
        try file.write([Float](repeating: 0, count: 50), shape: [10, 5], to: "x")
        try file.close()
        for (other, expected) in [(gzip, "contiguous storage"), (wide, "rows of shape [4]")] {
            let error = #expect(throws: DatasetError.self) { try HDF5RowSource(files: [plain, other], path: "/x", as: Float.self) }
            guard case let .mismatchedLayout(culprit, path, wanted, _) = error else {
                Issue.record("got \(String(describing: error))"); continue
            }
            #expect(culprit == other.path && path == "/x" && wanted.hasPrefix(expected), "\(wanted)")
        }
    }

    @Test func alignedDatasetsWithDifferentRowCountsAreRefusedNamingFileAndPath() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("good.h5"), short = folder.appendingPathComponent("short.h5")
        try Self.write(good, rows: 10)
        try Self.write(short, rows: 10, yRows: 9)
        let error = #expect(throws: DatasetError.self) {
            try HDF5AlignedRows(files: [good, short], x: "/x", as: Float.self, y: "/y", as: Int64.self)
        }
        guard case let .mismatchedLayout(file, path, expected, found) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == short.path && path == "/y" && expected == "10 rows like /x" && found == "9 rows")
    }

    @Test func aReadErrorMidEpochNamesFilePathAndRow() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a.h5"), b = folder.appendingPathComponent("b.h5")
        try Self.write(a, rows: 10)
        try Self.write(b, rows: 10, first: 10)
        let x = try HDF5RowSource(files: [a, b], path: "/x", as: Float.self)
        _ = try x.rows(at: [1])                      // a is open; b is opened on first use
        try FileManager.default.removeItem(at: b)
        let error = #expect(throws: DatasetError.self) { try x.rows(at: [2, 13]) }
        guard case let .sourceFailed(source, index, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(source == "\(b.path):/x" && index == 3)
    }
}
