import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Saving when the disk is full: a `CheckpointError` naming the file and the cause, the
/// previous checkpoint byte-identical, no temporary left. Two ways to fill the disk: a tiny
/// tmpfs (needs mount rights, e.g. root in a container; reported as skipped otherwise) and RLIMIT_FSIZE
/// with SIGXFSZ ignored (writes fail with EFBIG; works anywhere), the latter on the real CLI.
@Suite(.serialized) struct DiskFullTests {
    static let optimizer = NativeFixtures.optimizerConfig

    static func snapshots() throws -> [TrainingSnapshot] {
        let box = SnapshotBox()
        var trainer = try NativeFixtures.trainer()
        try trainer.fit(NativeFixtures.pipeline(repeating: true), epochs: 1, stepsPerEpoch: 6,
                        callbacks: [CheckpointCallback(frequency: .everySteps(3)) { box.append($0) }], progress: .quiet)
        return box.values
    }

    static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Mounts a tmpfs of `bytes` at a fresh folder; nil where mounting is not allowed.
    static func tmpfs(bytes: Int) throws -> (url: URL, unmount: () -> Void)? {
        let folder = try NativeFixtures.folder()
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", folder.path]) == 0 else {
            try? FileManager.default.removeItem(at: folder)
            return nil
        }
        return (folder, {
            _ = run("/bin/umount", [folder.path])
            try? FileManager.default.removeItem(at: folder)
        })
    }

    /// Whether this process may mount a tmpfs (probed once with a one-page mount).
    static let canMountTmpfs: Bool = {
        guard let probe = try? tmpfs(bytes: 4096) else { return false }
        probe.unmount()
        return true
    }()

    @Test(.enabled(if: Self.canMountTmpfs, "needs permission to mount a tmpfs (root in a container)"))
    func aFullFileSystemFailsTheSaveAndKeepsThePreviousCheckpoint() throws {
        let snapshots = try Self.snapshots()
        let scratch = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        try NativeCheckpoint.save(snapshots[0], optimizer: Self.optimizer, to: scratch.appendingPathComponent("size.h5"))
        let size = try Data(contentsOf: scratch.appendingPathComponent("size.h5")).count
        // Room for one checkpoint (page-rounded) plus one spare page: a second copy cannot fit.
        let pages = (size + 4095) / 4096
        let disk = try #require(try Self.tmpfs(bytes: (pages + 1) * 4096), "mounting failed although the probe mounted one")
        defer { disk.unmount() }
        let target = disk.url.appendingPathComponent("ckpt.h5")
        try NativeCheckpoint.save(snapshots[0], optimizer: Self.optimizer, to: target)
        let before = try Data(contentsOf: target)

        do {
            try NativeCheckpoint.save(snapshots[1], optimizer: Self.optimizer, to: target)
            Issue.record("a save into a full file system succeeded")
        } catch let error as CheckpointError {
            let message = error.localizedDescription
            #expect(message.contains(target.path) || message.contains(".ckpt.h5.tmp-"), "no file named: \(message)")
            #expect(message.contains("No space left on device"), "no cause given: \(message)")
            print("disk full (tmpfs of \((pages + 1) * 4096) bytes): \(message.prefix(300))")
        }
        #expect(try Data(contentsOf: target) == before)
        #expect(try NativeCheckpoint.load(from: target).snapshot.globalStep == snapshots[0].globalStep)
        #expect(try FileManager.default.contentsOfDirectory(atPath: disk.url.path) == ["ckpt.h5"])
    }

    /// The space a killed save's temporary holds is given back before the next save needs it.
    @Test(.enabled(if: Self.canMountTmpfs, "needs permission to mount a tmpfs (root in a container)"))
    func aDeadWritersTemporaryIsRemovedBeforeItsSpaceIsNeeded() throws {
        let snapshots = try Self.snapshots()
        let scratch = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let sizing = scratch.appendingPathComponent("size.h5")
        try NativeCheckpoint.save(snapshots[0], optimizer: Self.optimizer, to: sizing)
        let size = try Data(contentsOf: sizing).count
        let pages = (size + 4095) / 4096
        // Room for two checkpoints, one of them taken by the leftover of a killed save.
        let disk = try #require(try Self.tmpfs(bytes: (2 * pages + 1) * 4096), "mounting failed although the probe mounted one")
        defer { disk.unmount() }
        let target = disk.url.appendingPathComponent("ckpt.h5")
        try NativeCheckpoint.save(snapshots[0], optimizer: Self.optimizer, to: target)
        let dead = try StaleTemporaryPID.dead()
        try FileManager.default.copyItem(at: sizing, to: disk.url.appendingPathComponent(".ckpt.h5.tmp-\(dead)-killed"))

        try NativeCheckpoint.save(snapshots[1], optimizer: Self.optimizer, to: target)
        #expect(try NativeCheckpoint.load(from: target).snapshot.globalStep == snapshots[1].globalStep)
        #expect(try FileManager.default.contentsOfDirectory(atPath: disk.url.path) == ["ckpt.h5"])
    }

    @Test(.timeLimit(.minutes(1)))
    func theCLIReportsAFileSizeLimitAndKeepsThePreviousCheckpoint() throws {
        guard let batchwise = ChildProcess.built("batchwise") else {
            Issue.record("the batchwise executable was not built next to the tests; run `swift build` first")
            return
        }
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("ckpt.h5")
        try NativeCheckpoint.save(try Self.snapshots()[0], optimizer: Self.optimizer, to: checkpoint)
        let before = try Data(contentsOf: checkpoint)
        var arguments = try CrashTests.trainArguments(folder, checkpoint: checkpoint, epochs: 1)
        // Start from a native checkpoint: loading a .keras extracts its weights to a temporary
        // file, which the size limit would stop before training begins.
        let start = folder.appendingPathComponent("start.h5")
        try FileManager.default.copyItem(at: checkpoint, to: start)
        arguments[try #require(arguments.firstIndex(of: "--model")) + 1] = start.path
        // dash's `ulimit -f` counts 512-byte blocks: 8 KiB, less than any checkpoint. An ignored
        // SIGXFSZ survives exec, so writes past the limit fail with EFBIG instead of killing.
        let run = try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"),
                                       ["-c", "ulimit -f 16 && trap '' XFSZ && exec \"$0\" \"$@\"", batchwise.path] + arguments,
                                       deadline: 50)
        #expect(run.signal == nil && run.status == 1, "status \(run.status), signal \(run.signal.map(String.init) ?? "-")")
        #expect(run.stderr.hasPrefix("batchwise train: ") && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.contains(checkpoint.path), "no file named: \(run.stderr)")
        #expect(run.stderr.contains("File too large"), "no cause given: \(run.stderr)")
        #expect(try Data(contentsOf: checkpoint) == before)
        #expect(try CrashTests.temporaries(in: folder).isEmpty)
        print("file size limit: \(run.stderr.prefix(300))")
    }
}

enum StaleTemporaryPID {
    /// A pid whose process has exited and been reaped.
    static func dead() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }
}
