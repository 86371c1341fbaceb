import Foundation
import Testing
@testable import HDF5

/// `writeUnretained` is the lean path checkpoints use; it must store exactly what `write`
/// stores and fail the same way.
@Suite("Writing without a handle stores what write stores")
struct BulkWriteTests {
    private func bothWays(_ body: (HDF5File, Bool) throws -> Void) throws {
        try withTemporaryDirectory { dir in
            for lean in [false, true] {
                let file = try HDF5File.create(at: dir.appendingPathComponent("\(lean).h5"))
                try body(file, lean)
                try file.close()
            }
        }
    }

    private func store<T: HDF5Scalar>(_ file: HDF5File, lean: Bool, _ values: [T], shape: [Int]? = nil, at path: String) throws {
        if lean { try file.writeUnretained(values, shape: shape, to: path) } else { _ = try file.write(values, shape: shape, to: path) }
    }

    @Test func valuesShapesAndTypesMatchTheGeneralPath() throws {
        try bothWays { file, lean in
            try store(file, lean: lean, [Float(1), 2, 3, 4, 5, 6], shape: [2, 3], at: "a/b/kernel")
            try store(file, lean: lean, [Int64(7)], shape: [], at: "/iterations")
            try store(file, lean: lean, [UInt8](), at: "/empty")
            try store(file, lean: lean, [true, false, true], at: "flags")
            try store(file, lean: lean, [Double(0.5), -1], at: "//x//y/")
            #expect(try file.read("/a/b/kernel", as: Float.self).values == [1, 2, 3, 4, 5, 6])
            #expect(try file.dataset(at: "/a/b/kernel").shape == [2, 3])
            #expect(try file.dataset(at: "/a/b/kernel").elementType == .float32)
            #expect(try file.dataset(at: "/iterations").shape == [])
            #expect(try file.read("/iterations", as: Int64.self).values == [7])
            #expect(try file.dataset(at: "/empty").shape == [0])
            #expect(try file.dataset(at: "/flags").elementType == .bool)
            #expect(try file.read("/flags", as: Bool.self).values == [true, false, true])
            #expect(try file.read("/x/y", as: Double.self).values == [0.5, -1])
        }
    }

    @Test func anExistingDatasetOrGroupIsReplaced() throws {
        try bothWays { file, lean in
            try store(file, lean: lean, [Int32(1), 2], at: "/v")
            try store(file, lean: lean, [Int32(3), 4, 5], at: "/v")
            #expect(try file.read("/v", as: Int32.self).values == [3, 4, 5])
            try file.createGroup("/g/inner")
            try store(file, lean: lean, [Float(9)], at: "/g")
            #expect(try file.kind(of: "/g") == .dataset)
        }
    }

    @Test func malformedRequestsFailAsTheGeneralPathDoes() throws {
        try bothWays { file, lean in
            #expect(throws: HDF5Error.self) { try store(file, lean: lean, [Float(1), 2], shape: [3], at: "/bad") }
            #expect(throws: HDF5Error.self) { try store(file, lean: lean, [Float(1)], at: "/") }
            #expect(throws: HDF5Error.self) { try store(file, lean: lean, [Float](), shape: [-1], at: "/negative") }
            try store(file, lean: lean, [Float(1)], at: "/leaf")
            #expect(throws: HDF5Error.self) { try store(file, lean: lean, [Float(1)], at: "/leaf/below") }
            #expect(try file.exists("/bad") == false)
        }
    }
}
