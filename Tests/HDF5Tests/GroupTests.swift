import Foundation
import Testing
@testable import HDF5

@Suite("Groups: nested creation, listing, existence, removal")
struct GroupTests {
    @Test func nestedGroupsAreCreatedWithTheirIntermediates() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("g.h5"))
            try file.createGroup("model/layers/dense")
            try file.createGroup("model/layers/dense")  // idempotent
            #expect(try file.exists("model"))
            #expect(try file.exists("/model/layers"))
            #expect(try file.kind(of: "model/layers/dense") == .group)
            #expect(try !file.exists("model/nothing/here"))
            #expect(try file.exists("/"))
        }
    }

    @Test func childrenAreListedInNameOrderWithTheirKinds() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("c.h5"))
            try file.createGroup("m/zeta")
            try file.write([Float(1)], to: "m/alpha")
            try file.write([Int32(1)], to: "m/beta")
            #expect(try file.children(of: "m") == [
                HDF5Child(name: "alpha", kind: .dataset),
                HDF5Child(name: "beta", kind: .dataset),
                HDF5Child(name: "zeta", kind: .group),
            ])
            #expect(try file.children().map(\.name) == ["m"])
            #expect(throws: HDF5Error.notFound(file: file.path, object: "/nope")) { try file.children(of: "nope") }
            #expect(throws: HDF5Error.wrongKind(file: file.path, object: "/m/alpha", expected: "group", actual: "dataset")) {
                try file.children(of: "m/alpha")
            }
        }
    }

    @Test func removingALinkMakesItDisappear() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("r.h5"))
            try file.write([Float(1)], to: "a/b/x")
            try file.remove("a/b")
            #expect(try !file.exists("a/b/x"))
            #expect(try file.children(of: "a").isEmpty)
            #expect(throws: HDF5Error.notFound(file: file.path, object: "/a/b")) { try file.remove("a/b") }
            #expect(throws: HDF5Error.self) { try file.remove("/") }
        }
    }

    @Test func openingAGroupAsADatasetIsAWrongKindError() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("k.h5"))
            try file.createGroup("g")
            #expect(throws: HDF5Error.wrongKind(file: file.path, object: "/g", expected: "dataset", actual: "group")) {
                try file.dataset(at: "g")
            }
            #expect(throws: HDF5Error.notFound(file: file.path, object: "/missing")) { try file.dataset(at: "missing") }
        }
    }
}
