import Foundation
import Testing
import CHDF5
@testable import HDF5

/// Corrupted dataspaces (found by the fuzz campaign, docs/RELIABILITY.md): sizes computed from
/// them must become `HDF5Error.implausibleSize`, never an `Int` overflow trap or an
/// allocation of whatever count the file claims.
@Suite("Corrupted dataset shapes give typed errors")
struct CorruptShapeTests {
    @Test func storageBytesReportsOverflowInsteadOfTrapping() {
        #expect(DatasetLayout.storageBytes(shape: [1 << 61, 8], chunkShape: nil, elementSize: 4) == nil)
        #expect(DatasetLayout.storageBytes(shape: [Int.max, 3], chunkShape: [1, 3], elementSize: 8) == nil)
        #expect(DatasetLayout.storageBytes(shape: [4, 5], chunkShape: [0, 5], elementSize: 8) == nil)
        #expect(DatasetLayout.storageBytes(shape: [1 << 20, 1 << 20], chunkShape: nil, elementSize: 8) == 1 << 43)
    }

    /// Writes a float32 [7, 13] dataset, then rewrites every encoded copy of its dimensions
    /// (current and maximum, little-endian 64-bit) to [7, `columns`].
    static func inflated(columns: UInt64, in dir: URL, chunked: Bool = false) throws -> URL {
        let url = dir.appendingPathComponent("inflated-\(columns).h5")
        let file = try HDF5File.create(at: url)
        try file.write([Float](repeating: 1.5, count: 91), shape: [7, 13], to: "x",
                       options: chunked ? HDF5DatasetOptions(chunkShape: [7, 13]) : .contiguous)
        try file.close()
        var bytes = [UInt8](try Data(contentsOf: url))
        func encoded(_ values: [UInt64]) -> [UInt8] { values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } } }
        let pattern = encoded([7, 13]), replacement = encoded([7, columns])
        var replaced = 0
        var index = 0
        while index + pattern.count <= bytes.count {
            if Array(bytes[index..<index + pattern.count]) == pattern {
                bytes.replaceSubrange(index..<index + pattern.count, with: replacement)
                replaced += 1
            }
            index += 1
        }
        #expect(replaced >= 1, "the dimensions were not found in the file")
        try Data(bytes).write(to: url)
        return url
    }

    @Test func aShapeLargerThanTheStoredDataIsRejectedBeforeAllocating() throws {
        try withTemporaryDirectory { dir in
            // 7 × 13 000 float32 = 364 KB claimed by a file of a few KB.
            let url = try Self.inflated(columns: 13_000, in: dir)
            let file = try HDF5File.open(at: url)
            do {
                let values = try file.read("x", as: Float.self)
                Issue.record("read \(values.values.count) values from a corrupted file")
            } catch let HDF5Error.implausibleSize(errorFile, object, shape, reason) {
                #expect(errorFile == url.path)
                #expect(object == "/x")
                #expect(shape == ["7", "13000"])
                #expect(reason.contains("364000") && reason.contains("stores 364"), "\(reason)")
            }
        }
    }

    @Test func aShapeWhoseByteSizeOverflowsIsATypedError() throws {
        try withTemporaryDirectory { dir in
            let url = try Self.inflated(columns: 1 << 62, in: dir)
            let file = try HDF5File.open(at: url)
            do {
                _ = try file.dataset(at: "x")
                Issue.record("opened a dataset of 7 × 2^62 float32 values")
            } catch let HDF5Error.implausibleSize(errorFile, object, shape, reason) {
                #expect(errorFile == url.path && object == "/x")
                #expect(shape == ["7", "\(1 << 62)"])
                #expect(reason.contains("64-bit"))
            }
            // The tree walk marks the dataset with that reason instead of failing the file.
            let node = try file.treeDescription().children?.first { $0.path == "/x" }
            #expect(node?.kind == .dataset)
            #expect(node?.error?.contains("claims shape [7, \(1 << 62)]") == true, "\(String(describing: node?.error))")
            #expect(node?.error?.contains("64-bit") == true)
        }
    }

    @Test func aReadLargerThanMemoryIsRejectedForChunkedDatasetsToo() throws {
        try withTemporaryDirectory { dir in
            // 7 × 2^40 float32 = 28 TiB: fits an Int, not this machine.
            let url = try Self.inflated(columns: 1 << 40, in: dir, chunked: true)
            do {
                let values = try HDF5File.open(at: url).read("x", as: Float.self)
                Issue.record("read \(values.values.count) values")
            } catch let HDF5Error.implausibleSize(_, object, _, reason) {
                #expect(object == "/x")
                #expect(reason.contains("memory"), "\(reason)")
            }
        }
    }

    @Test func unwrittenDatasetsStillReadAsFillValues() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("fill.h5"))
            try file.createDataset("zeros", of: Double.self, shape: [300, 200])
            try file.createDataset("chunked", of: Float.self, shape: [1000, 64], options: HDF5DatasetOptions(chunkShape: [10, 64]))
            try file.dataset(at: "chunked").writeRows([Float](repeating: 2, count: 64), startingAt: 3)
            #expect(try file.read("zeros", as: Double.self).values == [Double](repeating: 0, count: 60_000))
            let chunked = try file.read("chunked", as: Float.self).values
            #expect(chunked.count == 64_000 && chunked[3 * 64] == 2 && chunked.filter { $0 != 0 }.count == 64)
        }
    }
}

/// A hard link back to an ancestor group (fuzz case 2825 made one) must not recurse forever.
@Suite("Group cycles")
struct GroupCycleTests {
    @Test func aLinkToAnAncestorIsMarkedSameAsAndSharedGroupsAreListedOnce() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("cycle.h5"))
            try file.createGroup("a/b")
            try file.createGroup("shared")
            HDF5Library.withLock {
                // Legal sharing: one group under two names, no cycle.
                _ = H5Lcreate_hard(file.id, "/shared", file.id, "/a/alias", bw_H5P_DEFAULT(), bw_H5P_DEFAULT())
            }
            let shared = try file.treeDescription().allNodes()
            #expect(shared.first { $0.path == "/a/alias" }?.children == [])
            #expect(shared.first { $0.path == "/shared" }?.sameAs == "/a/alias")
            HDF5Library.withLock {
                _ = H5Lcreate_hard(file.id, "/a", file.id, "/a/b/loop", bw_H5P_DEFAULT(), bw_H5P_DEFAULT())
            }
            let nodes = try file.treeDescription().allNodes()
            let loop = nodes.first { $0.path == "/a/b/loop" }
            #expect(loop?.kind == .group)
            #expect(loop?.sameAs == "/a")
            #expect(loop?.children == nil && loop?.error == nil)
            #expect(nodes.map(\.path) == ["/", "/a", "/a/alias", "/a/b", "/a/b/loop", "/shared"])
            #expect(try file.treeDescription().renderedText().contains("loop  (group, same as /a)"))
        }
    }

    /// Soft links are followed, but each object is described at most once through them: a
    /// lattice of 16 groups, each with two soft links to the next, would otherwise unfold
    /// into 2^16 copies of the last group.
    @Test func aLatticeOfSoftLinksIsDescribedOncePerObject() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("lattice.h5"))
            let levels = 16
            for level in 0...levels { try file.createGroup("g\(String(format: "%02d", level))") }
            HDF5Library.withLock {
                for level in 0..<levels {
                    for name in ["a", "b"] {
                        _ = H5Lcreate_soft("/g\(String(format: "%02d", level + 1))", file.id,
                                           "/g\(String(format: "%02d", level))/\(name)", bw_H5P_DEFAULT(), bw_H5P_DEFAULT())
                    }
                }
            }
            let nodes = try file.treeDescription().allNodes()
            // Root, 17 groups, 32 soft links below the hard-linked groups and one chain of
            // followed links (each followed group's two links: one described, one "same as").
            #expect(nodes.count < 200, "\(nodes.count) nodes")
            #expect(nodes.filter { $0.link != nil && $0.sameAs == nil && $0.children != nil }.count <= 2 * levels)
            #expect(nodes.allSatisfy { $0.error == nil })
        }
    }
}
