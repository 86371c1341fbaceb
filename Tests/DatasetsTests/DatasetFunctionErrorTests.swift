import Foundation
import HDF5
import Testing
@testable import Datasets
import Tensors

/// A user function that throws, file-backed sources given no file or a scalar dataset, and a
/// random-access state moved to an impossible position: each is the `DatasetError` case naming
/// the stage, the element index or the file and path.
@Suite("Throwing user functions and impossible sources or positions name the stage, index or file")
struct DatasetFunctionErrorTests {
    struct Refused: Error, Equatable { let value: Int }

    static func stream(_ count: Int) -> GeneratorDataset<Int> { GeneratorDataset { $0 < count ? $0 : nil } }

    @Test("a map or filter function that throws is reported with the stage and the element index")
    func throwingFunctions() throws {
        for (stage, pipeline) in [("map", Self.stream(5).map { value -> Int in if value == 2 { throw Refused(value: value) }; return value }.eraseToAnyDataset()),
                                  ("filter", Self.stream(5).filter { value in if value == 3 { throw Refused(value: value) }; return true }.eraseToAnyDataset())] {
            do {
                _ = try pipeline.collect()
                Issue.record("\(stage): no error")
            } catch let DatasetError.functionFailed(gotStage, index, underlying) {
                #expect(gotStage == stage && index == (stage == "map" ? 2 : 3), "\(gotStage) \(index)")
                #expect(underlying as? Refused == Refused(value: index))
            } catch {
                Issue.record("\(stage): untyped \(error)")
            }
        }
    }

    @Test("a row source over no files, or over a scalar dataset")
    func rowSourceArguments() throws {
        do {
            _ = try HDF5RowSource(files: [], path: "/x", as: Float.self)
            Issue.record("no files accepted")
        } catch let DatasetError.invalidArgument(stage, reason) {
            #expect(stage == "HDF5RowSource(/x)" && reason == "no files given")
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bw-rows-\(UUID().uuidString).h5")
        defer { try? FileManager.default.removeItem(at: url) }
        try HDF5File.atomicWrite(to: url) { try $0.write([Float(1)], shape: [], to: "/s") }
        do {
            _ = try HDF5RowSource(file: url, path: "/s", as: Float.self)
            Issue.record("a scalar accepted")
        } catch let DatasetError.invalidArgument(stage, reason) {
            #expect(stage == "\(url.path):/s" && reason == "a scalar dataset has no rows")
        }
    }

    @Test("a random-access state moved before the start is refused naming the position")
    func randomAccessPosition() throws {
        let data = RangeDataset(0..<10).batch(2)
        var iterator = data.makeIterator()
        _ = try iterator.next()
        var state = iterator.state
        try #require(state.kind == "randomAccess" && state.counters.count == 2)
        state.counters = state.counters.map { _ in -1 }
        do {
            _ = try data.makeIterator(resumingFrom: state)
            Issue.record("a negative position was accepted")
        } catch let DatasetError.incompatibleState(expected, found) {
            #expect(found.contains("position -1") && expected.contains("position"), "\(expected) / \(found)")
        }
    }
}

/// Two row sources paired as features and targets must read the same files with the same rows.
@Suite("Aligned HDF5 rows over different files or row counts name the file and path")
struct AlignedRowsErrorTests {
    @Test("targets over other files, or with fewer rows, are refused naming the file and the targets' path")
    func misaligned() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bw-aligned-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a.h5"), b = folder.appendingPathComponent("b.h5")
        for url in [a, b] {
            try HDF5File.atomicWrite(to: url) { file in
                try file.write([Float](repeating: 0, count: 8), shape: [4, 2], to: "/x")
                try file.write([Float](repeating: 1, count: 3), to: "/y")
            }
        }
        let x = try HDF5RowSource(files: [a], path: "/x", as: Float.self)
        do {
            _ = try HDF5AlignedRows(x, try HDF5RowSource(files: [b], path: "/y", as: Float.self))
            Issue.record("other files accepted")
        } catch let DatasetError.mismatchedLayout(file, path, expected, found) {
            #expect(file == b.path && path == "/y" && expected == "the files of /x: [\"\(a.path)\"]" && found == "other files",
                    "\(file) \(path) \(expected) \(found)")
        }
        do {
            _ = try HDF5AlignedRows(x, try HDF5RowSource(files: [a], path: "/y", as: Float.self))
            Issue.record("3 target rows for 4 feature rows accepted")
        } catch let error as DatasetError {
            guard case let .mismatchedLayout(file, path, _, _) = error else { Issue.record("got \(error)"); return }
            #expect(file == a.path && path == "/y")
            #expect(error.localizedDescription.contains("3") && error.localizedDescription.contains("4"), "\(error.localizedDescription)")
        }
    }
}
