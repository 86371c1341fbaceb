import Foundation
import Testing
@testable import HDF5

@Suite("Attributes: numbers, strings (fixed and variable), arrays, on every object kind")
struct AttributeTests {
    @Test func numericScalarsAndArraysRoundTripOnFileGroupAndDataset() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("a.h5")
            let file = try HDF5File.create(at: url)
            try file.createGroup("g")
            let dataset = try file.write([Float(1)], to: "g/d")
            try file.setAttribute("epsilon", 1e-3)
            try file.setAttribute("steps", Int64(-7), on: "g")
            try dataset.setAttribute("shape", [Int32(4), 3])
            try dataset.setAttribute("flags", [true, false])
            try file.close()

            let reopened = try HDF5File.open(at: url)
            #expect(try reopened.readAttribute("epsilon", as: Double.self) == 1e-3)
            #expect(try reopened.readAttribute("steps", of: "g", as: Int64.self) == -7)
            #expect(try reopened.readAttribute("shape", of: "g/d", as: [Int32].self) == [4, 3])
            #expect(try reopened.readAttribute("shape", of: "g/d", as: [Int64].self) == [4, 3])
            #expect(try reopened.readAttribute("flags", of: "g/d", as: [Bool].self) == [true, false])
            #expect(try reopened.attributeNames(of: "g/d") == ["flags", "shape"])
            #expect(try reopened.attributeInfo("shape", of: "g/d").elementType == .int32)
            #expect(try reopened.attributeInfo("epsilon").shape == [])
        }
    }

    @Test func stringsRoundTripInBothStorageKindsIncludingUnicode() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("s.h5")
            let file = try HDF5File.create(at: url)
            try file.setAttribute("vlen", "héllo wörld")
            try file.setAttribute("fixed", "dense_1", storage: .fixedLength)
            try file.setAttribute("names", ["a", "bcd", "ünï"])
            try file.setAttribute("fixed_names", ["kernel:0", "b"], storage: .fixedLength)
            try file.close()

            let reopened = try HDF5File.open(at: url)
            #expect(try reopened.readAttribute("vlen", as: String.self) == "héllo wörld")
            #expect(try reopened.readAttribute("fixed", as: String.self) == "dense_1")
            #expect(try reopened.readAttribute("names", as: [String].self) == ["a", "bcd", "ünï"])
            #expect(try reopened.readAttribute("fixed_names", as: [String].self) == ["kernel:0", "b"])
            #expect(try reopened.readAttribute("fixed", as: [String].self) == ["dense_1"])
        }
    }

    @Test func replacingAnAttributeChangesItsTypeAndValue() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("r.h5"))
            try file.setAttribute("x", Int8(1))
            try file.setAttribute("x", "now a string")
            #expect(try file.readAttribute("x", as: String.self) == "now a string")
            try file.removeAttribute("x")
            #expect(try !file.hasAttribute("x"))
        }
    }

    @Test func wrongTypesMissingAttributesAndArraysAsScalarsAreTypedErrors() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("e.h5"))
            try file.setAttribute("d", 2.5)
            try file.setAttribute("pair", [Int64(1), 2])
            try file.setAttribute("s", "text")
            #expect(throws: HDF5Error.self) { try file.readAttribute("d", as: Float.self) }
            #expect(throws: HDF5Error.self) { try file.readAttribute("s", as: Int64.self) }
            #expect(throws: HDF5Error.self) { try file.readAttribute("d", as: String.self) }
            #expect(throws: HDF5Error.notFound(file: file.path, object: "/@missing")) {
                try file.readAttribute("missing", as: Double.self)
            }
            #expect(throws: HDF5Error.shapeMismatch(file: file.path, object: "/@pair", expected: [1], actual: [2])) {
                try file.readAttribute("pair", as: Int64.self)
            }
            #expect(throws: HDF5Error.notFound(file: file.path, object: "/nowhere")) {
                try file.setAttribute("x", 1.0, on: "nowhere")
            }
        }
    }
}
