import Foundation
import Testing
@testable import HDF5

@Suite("Atomic writes publish complete files or nothing")
struct AtomicWriteTests {
    struct Boom: Error {}

    private func leftovers(in dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
    }

    @Test(arguments: [HDF5Durability.synced, .processCrashSafe])
    func aSuccessfulWritePublishesTheFileAndLeavesNoTemporary(durability: HDF5Durability) throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("ckpt.h5")
            let seenName = try HDF5File.atomicWrite(to: url, durability: durability) { file -> String in
                try file.write([Float(1), 2, 3], to: "w")
                try file.setAttribute("epoch", Int64(3))
                return file.url.lastPathComponent
            }
            #expect(seenName.hasPrefix(".ckpt.h5.tmp-\(getpid())-"))
            let file = try HDF5File.open(at: url)
            #expect(try file.read("w", as: Float.self).values == [1, 2, 3])
            #expect(try file.readAttribute("epoch", as: Int64.self) == 3)
            #expect(try leftovers(in: dir).isEmpty)
        }
    }

    @Test(arguments: [HDF5Durability.synced, .processCrashSafe])
    func aThrowingBodyKeepsThePreviousFileAndRemovesTheTemporary(durability: HDF5Durability) throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("ckpt.h5")
            try HDF5File.atomicWrite(to: url, durability: durability) { try $0.write([Int64(1)], to: "version") }
            #expect(throws: Boom.self) {
                try HDF5File.atomicWrite(to: url, durability: durability) { file in
                    try file.write([Int64(2)], to: "version")
                    throw Boom()
                }
            }
            #expect(try HDF5File.open(at: url).read("version", as: Int64.self).values == [1])
            #expect(try leftovers(in: dir).isEmpty)
        }
    }

    // `.processCrashSafe` publishes by swapping names and unlinking the old file (no ext4
    // flush); both publish paths must leave exactly the new file, and a reader that still has
    // the old file open keeps reading the old contents.
    @Test(arguments: [HDF5Durability.synced, .processCrashSafe], [false, true])
    func replacingAFileLeavesOnlyTheNewOneAndOpenReadersKeepTheOld(durability: HDF5Durability, inMemory: Bool) throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("ckpt.h5")
            try HDF5File.atomicWrite(to: url, inMemory: inMemory, durability: durability) { try $0.write([Int64(1)], to: "version") }
            let reader = try HDF5File.open(at: url)
            try HDF5File.atomicWrite(to: url, inMemory: inMemory, durability: durability) { try $0.write([Int64(2)], to: "version") }
            #expect(try reader.read("version", as: Int64.self).values == [1])
            try reader.close()
            #expect(try HDF5File.open(at: url).read("version", as: Int64.self).values == [2])
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["ckpt.h5"])
        }
    }

    @Test(arguments: [HDF5Durability.synced, .processCrashSafe])
    func aFolderAtTheTargetIsAnErrorAndIsNotMovedAside(durability: HDF5Durability) throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("ckpt.h5")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
            try Data("keep".utf8).write(to: url.appendingPathComponent("inside.txt"))
            #expect(throws: HDF5Error.self) {
                try HDF5File.atomicWrite(to: url, inMemory: true, durability: durability) { try $0.write([Int64(1)], to: "v") }
            }
            #expect(try String(contentsOf: url.appendingPathComponent("inside.txt"), encoding: .utf8) == "keep")
            #expect(try leftovers(in: dir).isEmpty)
        }
    }

    @Test(arguments: [HDF5Durability.synced, .processCrashSafe])
    func aSymbolicLinkAtTheTargetIsReplacedAndWhatItPointsToIsUntouched(durability: HDF5Durability) throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("ckpt.h5")
            let pointee = dir.appendingPathComponent("elsewhere.txt")
            try Data("old".utf8).write(to: pointee)
            try FileManager.default.createSymbolicLink(at: url, withDestinationURL: pointee)
            try HDF5File.atomicWrite(to: url, inMemory: true, durability: durability) { try $0.write([Int64(5)], to: "v") }
            #expect(try HDF5File.open(at: url).read("v", as: Int64.self).values == [5])
            #expect(try String(contentsOf: pointee, encoding: .utf8) == "old")
            let kind = try FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType
            #expect(kind == .typeRegular)
        }
    }

    @Test func anHDF5ErrorInsideTheBodyAlsoLeavesNoTrace() throws {
        try withTemporaryDirectory { (dir: URL) throws in
            let url = dir.appendingPathComponent("new.h5")
            #expect(throws: HDF5Error.self) {
                try HDF5File.atomicWrite(to: url) { file in
                    try file.write([Float(1), 2], shape: [3], to: "bad")
                }
            }
            #expect(!FileManager.default.fileExists(atPath: url.path))
            #expect(try leftovers(in: dir).isEmpty)
        }
    }

    @Test func aMissingDirectoryIsATypedError() {
        let url = URL(fileURLWithPath: "/nonexistent-\(getpid())/x.h5")
        #expect(throws: HDF5Error.self) { try HDF5File.atomicWrite(to: url) { _ in } }
    }
}
