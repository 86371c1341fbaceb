import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// How libhdf5's OS file locks (flock, `HDF5FileLocking`) meet Batchwise's rename-based saves.
/// An exclusive flock held by this test stands in for an in-place writer such as h5py in
/// "a" mode.
@Suite(.serialized) struct FileLockingTests {
    static func checkpoint(in folder: URL, steps: Int) throws -> (url: URL, snapshots: [TrainingSnapshot]) {
        let box = SnapshotBox()
        var trainer = try NativeFixtures.trainer()
        try trainer.fit(NativeFixtures.pipeline(repeating: true), epochs: 1, stepsPerEpoch: steps,
                        callbacks: [CheckpointCallback(frequency: .everySteps(3)) { box.append($0) }], progress: .quiet)
        let url = folder.appendingPathComponent("locked.h5")
        try NativeCheckpoint.save(box.values[0], optimizer: NativeFixtures.optimizerConfig, to: url)
        return (url, box.values)
    }

    @Test func lockingDecidesWhetherALockedFileOpensAndNeverBlocksAtomicSaves() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (url, snapshots) = try Self.checkpoint(in: folder, steps: 6)
        let holder = open(url.path, O_RDWR | O_CLOEXEC)
        try #require(holder >= 0)
        defer { close(holder) }
        // A child that a concurrent test is starting may share the save's descriptor (and its
        // lock) until it execs; wait that out, bounded (see LockConflictTests.holdLock).
        var locked = flock(holder, LOCK_EX | LOCK_NB) == 0
        for _ in 0..<1_000 where !locked {
            usleep(10_000)
            locked = flock(holder, LOCK_EX | LOCK_NB) == 0
        }
        try #require(locked, "another open file description held \(url.path) for 10 s")

        // Locking readers refuse a file someone holds exclusively, with a typed error...
        for locking in [HDF5FileLocking.enabled, .bestEffort] {
            do {
                _ = try HDF5File.open(at: url, locking: locking)
                Issue.record("\(locking): opened a file locked exclusively elsewhere")
            } catch let HDF5Error.library(_, file, _, message) {
                #expect(file == url.path)
                #expect(message.contains("lock"), "\(message)")
            }
        }
        // ...non-locking readers open it anyway (and trust that nobody writes in place).
        let unlocked = try HDF5File.open(at: url, locking: .disabled)
        #expect(try unlocked.readAttribute("global_step", as: Int64.self) == Int64(snapshots[0].globalStep))

        // HDF5_USE_FILE_LOCKING=FALSE overrides the program's choice (here inspect's .bestEffort).
        let inspect = try #require(ChildProcess.built("batchwise"))
        let refused = try ChildProcess.run(inspect, ["inspect", url.path, "--no-isolation"], deadline: 30)
        #expect(refused.status == 1 && refused.stderr.contains("lock"), "\(refused.stderr)")
        let allowed = try ChildProcess.run(inspect, ["inspect", url.path, "--no-isolation"], deadline: 30,
                                           environment: ["HDF5_USE_FILE_LOCKING": "FALSE"])
        #expect(allowed.status == 0, "\(allowed.stderr)")

        // A save replaces the file by rename: the lock (on the old inode) does not stop it, the
        // open handle keeps reading the old complete file, and new opens see the new one.
        try NativeCheckpoint.save(snapshots[1], optimizer: NativeFixtures.optimizerConfig, to: url)
        #expect(try unlocked.readAttribute("global_step", as: Int64.self) == Int64(snapshots[0].globalStep))
        #expect(try NativeCheckpoint.load(from: url).snapshot.globalStep == snapshots[1].globalStep)
        try unlocked.close()
    }
}
