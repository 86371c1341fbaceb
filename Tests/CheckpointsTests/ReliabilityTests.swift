import Foundation
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Saving into a folder that cannot be written: a typed error naming the file, and the
/// previous checkpoint untouched.
@Suite(.serialized) struct ReliabilityTests {
    /// Makes `folder` unwritable: chmod 555, and when that does not stop us (root ignores
    /// modes) the immutable attribute. Returns the undo action, or nil when neither works.
    static func makeReadOnly(_ folder: URL) -> (() -> Void)? {
        func writable() -> Bool {
            let probe = folder.appendingPathComponent("probe-\(getpid())")
            guard FileManager.default.createFile(atPath: probe.path, contents: Data()) else { return false }
            unlink(probe.path)
            return true
        }
        chmod(folder.path, 0o555)
        if !writable() { return { chmod(folder.path, 0o755) } }
        let chattr = Process()
        chattr.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
        chattr.arguments = ["+i", folder.path]
        chattr.standardError = FileHandle.nullDevice
        if (try? chattr.run()) != nil { chattr.waitUntilExit() }
        let undo = {
            let back = Process()
            back.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
            back.arguments = ["-i", folder.path]
            if (try? back.run()) != nil { back.waitUntilExit() }
            chmod(folder.path, 0o755)
        }
        if writable() {
            undo()
            return nil
        }
        return undo
    }

    /// Whether this process can make a folder read-only for itself (not as root without chattr).
    static let canMakeFoldersReadOnly: Bool = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-readonly-probe-\(getpid())")
        guard (try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)) != nil else { return false }
        defer { try? FileManager.default.removeItem(at: folder) }
        guard let undo = makeReadOnly(folder) else { return false }
        undo()
        return true
    }()

    @Test(.enabled(if: Self.canMakeFoldersReadOnly, "needs a folder this process cannot write to (chmod, or chattr +i as root)"))
    func savingIntoAReadOnlyFolderThrowsAndKeepsThePreviousCheckpoint() throws {
        let box = SnapshotBox()
        var trainer = try NativeFixtures.trainer()
        try trainer.fit(NativeFixtures.pipeline(repeating: true), epochs: 1, stepsPerEpoch: 6,
                        callbacks: [CheckpointCallback(frequency: .everySteps(3)) { box.append($0) }], progress: .quiet)
        let snapshots = box.values
        try #require(snapshots.count == 2)
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = try CheckpointDirectory(url: folder, keepLast: 3, optimizer: NativeFixtures.optimizerConfig)
        let previous = try directory.save(snapshots[0])
        let before = try Data(contentsOf: previous)

        let undo = try #require(Self.makeReadOnly(folder), "the folder could not be made read-only although the probe could")
        defer { undo() }
        #expect(throws: CheckpointError.self) { try directory.save(snapshots[1]) }
        do {
            // Overwriting the same file (what `train --checkpoint FILE` does) must fail the same way.
            try NativeCheckpoint.save(snapshots[1], optimizer: directory.optimizer, to: previous)
            Issue.record("saving into a read-only folder succeeded")
        } catch let error as CheckpointError {
            let message = error.localizedDescription
            #expect(message.contains(folder.lastPathComponent), "the message names no path: \(message)")
            #expect(message.contains("Permission denied") || message.contains("not permitted") || message.contains("Read-only"),
                    "the message gives no cause: \(message)")
        }
        undo()
        #expect(try Data(contentsOf: previous) == before)
        let loaded = try NativeCheckpoint.load(from: previous)
        #expect(loaded.snapshot.globalStep == snapshots[0].globalStep)
        #expect(NativeFixtures.bits(loaded.snapshot.model) == NativeFixtures.bits(snapshots[0].model))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == [previous.lastPathComponent])
    }
}
