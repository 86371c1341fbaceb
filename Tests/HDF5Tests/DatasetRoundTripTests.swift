import Foundation
import Testing
@testable import HDF5

@Suite("Datasets round-trip values, shapes and element types")
struct DatasetRoundTripTests {
    @Test func floatAndDoubleArraysReadBackWithTheirShape() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("f.h5")
            let floats = ramp(24, as: Float.self)
            let doubles = (0..<6).map { Double($0) * .pi }
            let file = try HDF5File.create(at: url)
            try file.write(floats, shape: [2, 3, 4], to: "a/b/floats")
            try file.write(doubles, to: "doubles")
            try file.close()

            let reopened = try HDF5File.open(at: url)
            let f = try reopened.dataset(at: "/a/b/floats").read(as: Float.self)
            #expect(f.shape == [2, 3, 4])
            #expect(f.values == floats)
            #expect(try reopened.dataset(at: "a/b/floats").elementType == .float32)
            let d = try reopened.read("doubles", as: Double.self)
            #expect(d.shape == [6])
            #expect(d.values == doubles)
            #expect(try reopened.dataset(at: "doubles").elementType.numpyName == "float64")
        }
    }

    @Test func everyIntegerTypeAndBoolRoundTripsAtItsExtremes() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("ints.h5"))
            try file.write([Int8.min, 0, Int8.max], to: "i8")
            try file.write([Int16.min, -1, Int16.max], to: "i16")
            try file.write([Int32.min, 7, Int32.max], to: "i32")
            try file.write([Int64.min, 9, Int64.max], to: "i64")
            try file.write([UInt8.min, 200, UInt8.max], to: "u8")
            try file.write([UInt16.min, 60000, UInt16.max], to: "u16")
            try file.write([UInt32.min, 4_000_000_000, UInt32.max], to: "u32")
            try file.write([UInt64.min, 1 << 63, UInt64.max], to: "u64")
            try file.write([true, false, false, true], shape: [2, 2], to: "flags")

            #expect(try file.read("i8", as: Int8.self).values == [Int8.min, 0, Int8.max])
            #expect(try file.read("i16", as: Int16.self).values == [Int16.min, -1, Int16.max])
            #expect(try file.read("i32", as: Int32.self).values == [Int32.min, 7, Int32.max])
            #expect(try file.read("i64", as: Int64.self).values == [Int64.min, 9, Int64.max])
            #expect(try file.read("u8", as: UInt8.self).values == [UInt8.min, 200, UInt8.max])
            #expect(try file.read("u16", as: UInt16.self).values == [UInt16.min, 60000, UInt16.max])
            #expect(try file.read("u32", as: UInt32.self).values == [UInt32.min, 4_000_000_000, UInt32.max])
            #expect(try file.read("u64", as: UInt64.self).values == [UInt64.min, 1 << 63, UInt64.max])
            let flags = try file.read("flags", as: Bool.self)
            #expect(flags.values == [true, false, false, true])
            #expect(flags.shape == [2, 2])
            let names = try ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "flags"].map {
                try file.dataset(at: $0).elementType.numpyName
            }
            #expect(names == ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"])
        }
    }

    @Test func losslessWideningIsAllowedOnRead() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("w.h5"))
            try file.write([Float(0.1), 2.5], to: "f")
            try file.write([Int32(-5), 70000], to: "i")
            try file.write([UInt16(65535)], to: "u")
            #expect(try file.read("f", as: Double.self).values == [Double(Float(0.1)), 2.5])
            #expect(try file.read("i", as: Int64.self).values == [-5, 70000])
            #expect(try file.read("u", as: Int32.self).values == [65535])
        }
    }

    @Test func readingWithALossyOrWrongElementTypeIsATypedError() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("t.h5"))
            try file.write([1.5, 2.5], to: "d")
            try file.write([Int64(1)], to: "i")
            try file.write([true], to: "b")
            #expect(throws: HDF5Error.self) { try file.read("d", as: Float.self) }
            #expect(throws: HDF5Error.self) { try file.read("d", as: Int64.self) }
            #expect(throws: HDF5Error.self) { try file.read("i", as: Int32.self) }
            #expect(throws: HDF5Error.self) { try file.read("i", as: Double.self) }
            #expect(throws: HDF5Error.self) { try file.read("b", as: Int8.self) }
            do {
                _ = try file.read("d", as: Float.self)
            } catch let HDF5Error.elementTypeMismatch(_, object, stored, _) {
                #expect(object == "/d")
                #expect(stored == "float64")
            }
        }
    }

    @Test func aShapeExpectationOrAWrongValueCountIsATypedError() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("s.h5"))
            let dataset = try file.write([Float](repeating: 1, count: 6), shape: [2, 3], to: "x")
            #expect(throws: HDF5Error.shapeMismatch(file: file.path, object: "/x", expected: [3, 2], actual: [2, 3])) {
                try dataset.read(as: Float.self, expectingShape: [3, 2])
            }
            #expect(try dataset.read(as: Float.self, expectingShape: [2, 3]).values.count == 6)
            #expect(throws: HDF5Error.self) { try dataset.write([Float](repeating: 0, count: 5)) }
            #expect(throws: HDF5Error.self) { try file.write([Float](repeating: 0, count: 5), shape: [2, 3], to: "y") }
        }
    }

    @Test func emptyAndScalarDatasetsWork() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("e.h5")
            let file = try HDF5File.create(at: url)
            try file.createDataset("empty", of: Float.self, shape: [0, 5])
            let scalar = try file.createDataset("scalar", of: Double.self, shape: [])
            try scalar.write([42.25])
            try file.close()

            let reopened = try HDF5File.open(at: url)
            let empty = try reopened.read("empty", as: Float.self)
            #expect(empty.shape == [0, 5])
            #expect(empty.values.isEmpty)
            let value = try reopened.read("scalar", as: Double.self)
            #expect(value.shape == [])
            #expect(value.scalar == 42.25)
        }
    }
}
