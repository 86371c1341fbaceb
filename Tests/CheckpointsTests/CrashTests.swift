import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// SIGKILL during checkpoint saves, at points the save announces: `batchwise train --checkpoint
/// FILE --every 1` runs as a child with `BATCHWISE_PAUSE_SAVE_AT` set, so its first save stops
/// at that point (half the temporary file written; the temporary complete but not yet renamed)
/// and says so on standard error; only then is it killed. After each kill the checkpoint must be
/// the previous one, byte for byte, and load strictly, and the next save through
/// ``CheckpointDirectory`` must remove the dead writer's temporary file.
@Suite(.serialized) struct CrashTests {
    /// Kills per pause point and durability (`BATCHWISE_CRASH_KILLS` changes it).
    static let killsPerPoint = Int(ProcessInfo.processInfo.environment["BATCHWISE_CRASH_KILLS"] ?? "") ?? 2

    /// Data (int64 labels, float64 features) and an initial `.keras` model in `folder`; the
    /// `train` arguments shared by every run.
    /// `noFsync` adds `--no-checkpoint-fsync`: saves then publish by swapping names (no ext4 flush).
    static func trainArguments(_ folder: URL, checkpoint: URL, epochs: Int, noFsync: Bool = false) throws -> [String] {
        let (x, y) = try NativeFixtures.data(rows: 200, seed: 21)
        let data = folder.appendingPathComponent("d.h5")
        let model = folder.appendingPathComponent("m.keras")
        if !FileManager.default.fileExists(atPath: data.path) {
            try HDF5File.atomicWrite(to: data) { file in
                try file.write(x.scalars.map(Double.init), shape: x.shape, to: "/features")
                try file.write(y.scalars.map { Int64($0) }, to: "/labels")
            }
            try KerasModelFile.save(try NativeFixtures.model(seed: 4), to: model)
        }
        return ["train", "--model", model.path, "--loss", "binary_crossentropy", "--optimizer", "adam",
                "--learning-rate", "0.01", "--data", data.path, "--x", "/features", "--y", "/labels",
                "--batch-size", "16", "--seed", "9", "--epochs", "\(epochs)", "--quiet",
                "--save", folder.appendingPathComponent("final.h5").path,
                "--checkpoint", checkpoint.path, "--every", "1",
                // Without the isolated start (whose child saves a prepared checkpoint, and would
                // pause there) the run's first atomic write is a --checkpoint save.
                "--no-isolation"] + (noFsync ? ["--no-checkpoint-fsync"] : [])
    }

    static func temporaries(in folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".tmp-") }
    }

    static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        guard let executable = ChildProcess.built("batchwise") else { throw CocoaError(.fileNoSuchFile) }
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ChildProcess.tiedEnvironment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// A child started with `BATCHWISE_PAUSE_SAVE_AT=point`, once its save has announced the
    /// pause: the process (still running, paused) and the temporary file it named.
    static func startPaused(_ arguments: [String], at point: String) throws -> (process: Process, temporary: String) {
        let process = Process()
        guard let executable = ChildProcess.built("batchwise") else { throw CocoaError(.fileNoSuchFile) }
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["BATCHWISE_PAUSE_SAVE_AT": point]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // Guards against a child that never reaches the point (the reads below would wait
        // forever): killed, its pipe ends and the test fails on the missing announcement.
        let guardKill = DispatchWorkItem { kill(process.processIdentifier, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: guardKill)
        defer { guardKill.cancel() }
        let marker = "batchwise: save paused at \(point): "
        var text = ""
        while !(text.components(separatedBy: "\n").dropLast().contains { $0.hasPrefix(marker) }) {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.components(separatedBy: "\n").dropLast().first(where: { $0.hasPrefix(marker) }) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw CheckpointTestFailure("the child never paused at \(point); its standard error: \(text.suffix(2_000))")
        }
        return (process, String(line.dropFirst(marker.count)))
    }

    @Test(.timeLimit(.minutes(5)), arguments: [false, true], ["temporary-partial", "temporary-complete"])
    func aKillAtAnAnnouncedPointOfASaveLeavesThePreviousCheckpointAndTheNextSaveRemovesTheTemporary(
        noFsync: Bool, point: String
    ) throws {
        guard ChildProcess.built("batchwise") != nil else {
            Issue.record("the batchwise executable was not built next to the tests; run `swift build` first")
            return
        }
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // A huge step number keeps the CLI's file the newest, so directory pruning never deletes it.
        let checkpoint = folder.appendingPathComponent("ckpt-100000000.h5")
        let arguments = try Self.trainArguments(folder, checkpoint: checkpoint, epochs: 100_000, noFsync: noFsync)

        // A first complete checkpoint (one epoch, no pause), so that every kill has a predecessor.
        let seed = try Self.start(try Self.trainArguments(folder, checkpoint: checkpoint, epochs: 1, noFsync: noFsync))
        seed.waitUntilExit()
        try #require(seed.terminationStatus == 0 && FileManager.default.fileExists(atPath: checkpoint.path))

        for round in 0..<Self.killsPerPoint {
            let before = try Data(contentsOf: checkpoint)
            let previousStep = try NativeCheckpoint.load(from: checkpoint).snapshot.globalStep
            let (process, temporary) = try Self.startPaused(arguments, at: point)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "round \(round): the run ended on its own")
            let name = URL(fileURLWithPath: temporary).lastPathComponent
            #expect(name.hasPrefix(".\(checkpoint.lastPathComponent).tmp-\(process.processIdentifier)-"), "paused in \(temporary)")
            #expect(try Self.temporaries(in: folder) == [name], "round \(round)")
            if point == "temporary-partial" {
                // Killed mid-write: the temporary is a truncated file.
                #expect(throws: (any Error).self) { try NativeCheckpoint.load(from: URL(fileURLWithPath: temporary)) }
            } else {
                // Killed with a complete new file that only the rename would have published.
                let unpublished = try NativeCheckpoint.load(from: URL(fileURLWithPath: temporary))
                #expect(unpublished.snapshot.globalStep > 0)
            }
            // The previous checkpoint is untouched and loads strictly.
            #expect(try Data(contentsOf: checkpoint) == before, "round \(round): the checkpoint changed")
            let loaded = try NativeCheckpoint.load(from: checkpoint)
            #expect(loaded.snapshot.globalStep == previousStep)
            #expect(loaded.snapshot.model.variables.allSatisfy { $0.value.scalars.allSatisfy(\.isFinite) })

            // The next save in this folder removes temporaries whose writer is dead.
            let directory = try CheckpointDirectory(url: folder, keepLast: 2, optimizer: loaded.optimizer, loss: loaded.loss)
            try directory.save(loaded.snapshot)
            let left = try Self.temporaries(in: folder)
            #expect(left.isEmpty, "round \(round): left \(left)")
        }
    }

    /// `train --checkpoint FILE` saves through `NativeCheckpoint.save`, which removes the
    /// temporaries of dead writers of FILE before writing (it used not to: each crashed save
    /// left one `.FILE.tmp-<pid>-*` behind for good).
    @Test(.timeLimit(.minutes(2)))
    func aRestartedTrainRemovesTheTemporaryOfTheKilledRun() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("run.h5")
        let (process, temporary) = try Self.startPaused(try Self.trainArguments(folder, checkpoint: checkpoint, epochs: 100_000),
                                                        at: "temporary-complete")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try #require(try Self.temporaries(in: folder) == [URL(fileURLWithPath: temporary).lastPathComponent])
        let rerun = try Self.start(try Self.trainArguments(folder, checkpoint: checkpoint, epochs: 1))
        rerun.waitUntilExit()
        #expect(rerun.terminationStatus == 0)
        let left = try Self.temporaries(in: folder)
        #expect(left.isEmpty, "left after a complete run with the same --checkpoint: \(left)")
    }
}

/// A test precondition that failed, with what was seen.
struct CheckpointTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
