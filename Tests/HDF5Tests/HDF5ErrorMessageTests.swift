import Foundation
import Testing
@testable import HDF5

/// Arguments libhdf5 would reject with an error stack (or accept and misbehave): each is an
/// `HDF5Error` naming the file and the object path, with the rows, shape or option at fault,
/// and libhdf5 prints nothing on stderr meanwhile.
@Suite("Bad HDF5 arguments are typed errors naming file, object and value, without libhdf5 noise")
struct HDF5ErrorMessageTests {
    /// A file with /x float32 [4, 2], a scalar /s and a group /g, open read-write.
    private func withFile(_ body: (HDF5File, String) throws -> Void) throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("e.h5")
            let file = try HDF5File.create(at: url)
            defer { try? file.close() }
            try file.write((0..<8).map(Float.init), shape: [4, 2], to: "/x")
            try file.write([Float(1)], shape: [], to: "/s")
            try file.createGroup("/g")
            let noise = try capturingStandardError { try body(file, url.path) }
            #expect(!noise.contains("HDF5-DIAG"), "libhdf5 printed: \(noise)")
        }
    }

    @Test("rows outside the dataset name the rows and the row count")
    func rowsOutOfRange() throws {
        try withFile { file, path in
            let x = try file.dataset(at: "/x")
            #expect(throws: HDF5Error.invalidArgument(file: path, object: "/x", reason: "rows 2..<9 are outside 0..<4")) {
                try x.readRows(2..<9, as: Float.self)
            }
            #expect(throws: HDF5Error.invalidArgument(file: path, object: "/x", reason: "rows -1..<1 are outside 0..<4")) {
                try x.readRows(-1..<1, as: Float.self)
            }
            #expect(throws: HDF5Error.invalidArgument(file: path, object: "/x", reason: "row 7 is outside 0..<4")) {
                try x.readRows(at: [1, 7], as: Float.self)
            }
            #expect(throws: HDF5Error.invalidArgument(file: path, object: "/x", reason: "rows 3..<5 are outside 0..<4")) {
                try x.writeRows([Float](repeating: 0, count: 4), startingAt: 3)
            }
            // A value count that is not whole rows: expected [-1, 2] rows of 2.
            #expect(throws: HDF5Error.shapeMismatch(file: path, object: "/x", expected: [-1, 2], actual: [3])) {
                try x.writeRows([Float](repeating: 0, count: 3), startingAt: 0)
            }
            #expect(try x.readRows(0..<4, as: Float.self).values == (0..<8).map(Float.init), "the data is untouched")
        }
    }

    @Test("a scalar dataset has no rows to read, write or append")
    func scalarHasNoRows() throws {
        try withFile { file, path in
            let s = try file.dataset(at: "/s")
            let refusal = HDF5Error.invalidArgument(file: path, object: "/s", reason: "a scalar dataset has no rows")
            #expect(throws: refusal) { try s.readRows(0..<1, as: Float.self) }
            #expect(throws: refusal) { try s.readRows(at: [0], as: Float.self) }
            #expect(throws: refusal) { try s.writeRows([Float(2)], startingAt: 0) }
        }
    }

    @Test("appending to a dataset created without extendible says how to create it")
    func appendNotExtendible() throws {
        try withFile { file, path in
            #expect(throws: HDF5Error.invalidArgument(file: path, object: "/x",
                                                      reason: "dataset is not extendible (create it with extendible: true)")) {
                try file.dataset(at: "/x").append([Float(1), 2])
            }
            let shape = try file.dataset(at: "/x").shape
            #expect(shape == [4, 2])
        }
    }

    @Test("creating a dataset at the root, with a negative size, a bad gzip level or chunk shape")
    func createArguments() throws {
        try withFile { file, path in
            #expect(throws: HDF5Error.invalidArgument(file: path, object: "/", reason: "empty dataset path")) {
                try file.createDataset("/", of: Float.self, shape: [2])
            }
            #expect(throws: HDF5Error.invalidArgument(file: path, object: "/n", reason: "negative dimension in [2, -1]")) {
                try file.createDataset("/n", of: Float.self, shape: [2, -1])
            }
            #expect(throws: HDF5Error.invalidArgument(file: path, object: "/z", reason: "gzip level 12 is not in 0...9")) {
                try file.createDataset("/z", of: Float.self, shape: [4, 2], options: HDF5DatasetOptions(gzipLevel: 12))
            }
            #expect(throws: HDF5Error.invalidArgument(file: path, object: "/c", reason: "chunk shape [2] has rank 1, dataset has rank 2")) {
                try file.createDataset("/c", of: Float.self, shape: [4, 2], options: HDF5DatasetOptions(chunkShape: [2]))
            }
            #expect(throws: HDF5Error.invalidArgument(file: path, object: "/c", reason: "chunk dimensions must be positive: [0, 2]")) {
                try file.createDataset("/c", of: Float.self, shape: [4, 2], options: HDF5DatasetOptions(chunkShape: [0, 2]))
            }
            #expect(throws: HDF5Error.invalidArgument(file: path, object: "/c",
                                                      reason: "a scalar dataset cannot be chunked, compressed or extendible")) {
                try file.createDataset("/c", of: Float.self, shape: [], options: .compressed(level: 1))
            }
            for name in ["/n", "/z", "/c"] {
                let left = try file.exists(name)
                #expect(!left, "\(name) was left behind")
            }
        }
    }

    @Test("removing the root, opening a group as a dataset, a missing attribute")
    func objectsAndAttributes() throws {
        try withFile { file, path in
            #expect(throws: HDF5Error.invalidArgument(file: path, object: "/", reason: "cannot remove the root group")) { try file.remove("/") }
            #expect(throws: HDF5Error.wrongKind(file: path, object: "/g", expected: "dataset", actual: "group")) { try file.dataset(at: "/g") }
            #expect(throws: HDF5Error.wrongKind(file: path, object: "/g", expected: "dataset", actual: "group")) {
                try file.read("/g", as: Float.self)
            }
            #expect(throws: HDF5Error.notFound(file: path, object: "/x@units")) { try file.removeAttribute("units", of: "/x") }
            #expect(throws: HDF5Error.notFound(file: path, object: "/x@units")) { try file.readAttribute("units", of: "/x", as: String.self) }
            let root = try file.exists("/")
            #expect(root)
        }
    }

    @Test("writing values a dataset's type cannot hold, and asking the kind of nothing")
    func writeTypeAndKind() throws {
        try withFile { file, path in
            let x = try file.dataset(at: "/x")
            #expect(throws: HDF5Error.elementTypeMismatch(file: path, object: "/x", stored: "float32", requested: "Double (float64)")) {
                try x.write([Double](repeating: 0.1, count: 8))
            }
            #expect(throws: HDF5Error.elementTypeMismatch(file: path, object: "/x", stored: "float32", requested: "Int64 (int64)")) {
                try x.writeRows([Int64](repeating: 1, count: 2), startingAt: 0)
            }
            #expect(throws: HDF5Error.notFound(file: path, object: "/nope")) { try file.kind(of: "nope") }
            let values = try x.read(as: Float.self).values
            #expect(values == (0..<8).map(Float.init), "the data is untouched")
        }
    }

    @Test("a JSON rendering of a non-finite attribute is refused naming its path")
    func nonFiniteJSON() throws {
        let error = #expect(throws: JSONText.UnsupportedValue.self) { try JSONText.serialize(["a": ["b": Double.nan]]) }
        #expect(error?.path == "$.a.b" && error?.description.contains("non-finite number") == true, "\(String(describing: error))")
    }
}
