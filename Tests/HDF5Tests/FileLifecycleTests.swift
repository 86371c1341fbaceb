import Foundation
import Testing
@testable import HDF5

@Suite("Files: create, open, close, locking, errors, no leaks")
struct FileLifecycleTests {
    @Test func openingAMissingFileReportsTheErrnoTextFromTheErrorStack() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("missing.h5")
            do {
                _ = try HDF5File.open(at: url)
                Issue.record("opening a missing file succeeded")
            } catch let HDF5Error.library(operation, file, _, message) {
                #expect(operation == "open")
                #expect(file == url.path)
                #expect(message.contains("No such file or directory"))
            }
        }
    }

    @Test func createWithFailIfExistsRefusesAnExistingFileAndTruncateReplacesIt() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("x.h5")
            let first = try HDF5File.create(at: url)
            try first.write([Float(1)], to: "old")
            try first.close()
            #expect(throws: HDF5Error.self) { try HDF5File.create(at: url, ifExists: .fail) }
            let second = try HDF5File.create(at: url, ifExists: .truncate)
            #expect(try !second.exists("old"))
        }
    }

    @Test func aNonHDF5FileIsALibraryErrorNotACrash() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("text.h5")
            try "not hdf5".write(to: url, atomically: true, encoding: .utf8)
            #expect(throws: HDF5Error.self) { try HDF5File.open(at: url) }
        }
    }

    @Test func usingAClosedFileOrItsDatasetsIsAClosedError() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("c.h5"))
            let dataset = try file.write([Float(1), 2], to: "x")
            try file.close()
            try file.close()  // idempotent
            #expect(!file.isOpen)
            #expect(throws: HDF5Error.closed(file: file.path, object: "/x")) { try dataset.read(as: Float.self) }
            #expect(throws: HDF5Error.closed(file: file.path, object: "/y")) { try file.createGroup("y") }
        }
    }

    @Test func readOnlyFilesRejectWrites() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("ro.h5")
            try HDF5File.create(at: url).close()
            let file = try HDF5File.open(at: url, mode: .readOnly)
            #expect(throws: HDF5Error.self) { try file.createGroup("g") }
            try file.close()  // libhdf5 refuses a read-write open of a file open read-only
            let writable = try HDF5File.open(at: url, mode: .readWrite, locking: .bestEffort)
            try writable.createGroup("g")
            try writable.close()
        }
    }

    @Test func everyLockingModeOpensAndWrites() throws {
        try withTemporaryDirectory { dir in
            for (index, locking) in [HDF5FileLocking.enabled, .disabled, .bestEffort, .libraryDefault].enumerated() {
                let url = dir.appendingPathComponent("l\(index).h5")
                let file = try HDF5File.create(at: url, locking: locking)
                try file.write([Int8(Int8(index))], to: "v")
                try file.close()
                #expect(try HDF5File.open(at: url, locking: locking).read("v", as: Int8.self).values == [Int8(index)])
            }
        }
    }

    @Test func heavyUseLeavesNoHandleOpenButTheFile() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("leak.h5"))
            for index in 0..<50 {
                try file.write([Float](repeating: Float(index), count: 12), shape: [3, 4], to: "g\(index % 5)/d\(index)",
                               options: index.isMultiple(of: 2) ? .compressed() : .contiguous)
                _ = try file.read("g\(index % 5)/d\(index)", as: Double.self)
                _ = try file.children(of: "g\(index % 5)")
                _ = try? file.read("g\(index % 5)/d\(index)", as: Int8.self)
                _ = try? file.dataset(at: "nope\(index)")
                try file.setAttribute("n", Int64(index), on: "g\(index % 5)")
                _ = try file.readAttribute("n", of: "g\(index % 5)", as: Int64.self)
                _ = try file.treeDescription()
            }
            #expect(try file.openObjectCount() == 1)
            let held = try file.dataset(at: "g0/d0")
            #expect(try file.openObjectCount() == 2)
            try held.close()
            #expect(try file.openObjectCount() == 1)
            try file.close()
        }
    }

    @Test func closingTheFileClosesDatasetsStillReferenced() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("held.h5")
            let file = try HDF5File.create(at: url)
            let dataset = try file.write([Float(3)], to: "x")
            try file.close()  // would fail with close degree SEMI if the dataset id stayed open
            #expect(try HDF5File.open(at: url).read("x", as: Float.self).values == [3])
            _ = dataset
        }
    }

    @Test func failuresPrintNothingToStandardErrorOnAnyThread() throws {
        try withTemporaryDirectory { dir in
            let missing = dir.appendingPathComponent("missing.h5")
            let garbage = dir.appendingPathComponent("garbage.h5")
            try Data(repeating: 7, count: 4096).write(to: garbage)
            let output = try capturingStandardError {
                _ = try? HDF5File.open(at: missing)
                onNewThread {
                    _ = try? HDF5File.open(at: missing)
                    _ = try? HDF5File.open(at: garbage)
                }
                let file = try HDF5File.create(at: dir.appendingPathComponent("ok.h5"))
                _ = try? file.dataset(at: "a/b/c")
                _ = try? file.read("x", as: Float.self)
                _ = "control line\n".withCString { write(2, $0, strlen($0)) }
            }
            #expect(output.contains("control line"), "the capture itself must work")
            #expect(!output.contains("HDF5-DIAG"))
            #expect(!output.contains("H5F"))
        }
    }
}
