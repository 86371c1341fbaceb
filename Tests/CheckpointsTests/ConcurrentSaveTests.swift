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

/// Several processes on one checkpoint path: writers racing each other (the last rename
/// wins, whole), and readers loading while a writer keeps replacing the file (they see a
/// complete old or new file). The writers are the built `batchwise train --checkpoint`.
@Suite(.serialized) struct ConcurrentSaveTests {
    /// `CrashTests.trainArguments` with this writer's seed and final save path.
    static func writerArguments(_ folder: URL, checkpoint: URL, epochs: Int, seed: Int, save: URL, noFsync: Bool) throws -> [String] {
        var arguments = try CrashTests.trainArguments(folder, checkpoint: checkpoint, epochs: epochs, noFsync: noFsync)
        arguments[try #require(arguments.firstIndex(of: "--seed")) + 1] = "\(seed)"
        arguments[try #require(arguments.firstIndex(of: "--save")) + 1] = save.path
        return arguments
    }

    // `noFsync`: `--no-checkpoint-fsync` saves publish by swapping names and deleting the old
    // file, which two writers can interleave in new ways; the outcome must be the same.
    @Test(.timeLimit(.minutes(2)), arguments: [false, true])
    func twoProcessesSavingToOnePathLeaveOneWritersCompleteFile(noFsync: Bool) throws {
        guard ChildProcess.built("batchwise") != nil else {
            Issue.record("the batchwise executable was not built next to the tests; run `swift build` first")
            return
        }
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let shared = folder.appendingPathComponent("shared.h5")
        var winners: [String] = []
        for round in 0..<3 {
            // 3 epochs of 13 steps, a save after each step: 39 renames per writer, interleaved.
            let finals = [folder.appendingPathComponent("a-\(round).h5"), folder.appendingPathComponent("b-\(round).h5")]
            let writers = try zip([1, 2], finals).map { seed, final in
                try CrashTests.start(try Self.writerArguments(folder, checkpoint: shared, epochs: 3, seed: seed + 10 * round, save: final,
                                                                   noFsync: noFsync))
            }
            for writer in writers { writer.waitUntilExit() }
            #expect(writers.allSatisfy { $0.terminationReason == .exit && $0.terminationStatus == 0 }, "round \(round): a writer failed")

            let result = try NativeCheckpoint.load(from: shared)     // strict
            let candidates = try finals.map { try NativeCheckpoint.load(from: $0).snapshot }
            try #require(NativeFixtures.bits(candidates[0].model) != NativeFixtures.bits(candidates[1].model))
            let match = candidates.firstIndex {
                NativeFixtures.bits($0.model) == NativeFixtures.bits(result.snapshot.model)
                    && NativeFixtures.bits($0.optimizerState) == NativeFixtures.bits(result.snapshot.optimizerState)
                    && $0.globalStep == result.snapshot.globalStep
            }
            #expect(match != nil, "round \(round): the shared checkpoint matches neither writer's final state")
            winners.append(match.map { ["a", "b"][$0] } ?? "none")
            let left = try CrashTests.temporaries(in: folder)
            #expect(left.isEmpty, "round \(round): \(left)")
        }
        print("concurrent writers\(noFsync ? " (no fsync)" : ""): 3 rounds × 2 writers × 39 saves to one path; last writer per round: \(winners)")
    }

    @Test(.timeLimit(.minutes(2)), arguments: [false, true])
    func aReaderLoadingWhileAWriterReplacesTheFileSeesCompleteFiles(noFsync: Bool) throws {
        guard ChildProcess.built("batchwise") != nil else {
            Issue.record("the batchwise executable was not built next to the tests; run `swift build` first")
            return
        }
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("live.h5")
        let writer = try CrashTests.start(try CrashTests.trainArguments(folder, checkpoint: checkpoint, epochs: 100_000, noFsync: noFsync))
        defer { kill(writer.processIdentifier, SIGKILL); writer.waitUntilExit() }
        // Polls for the writer's first save; the deadline only guards against a writer that never saves.
        let deadline = Date().addingTimeInterval(110)
        while !FileManager.default.fileExists(atPath: checkpoint.path) && Date() < deadline && writer.isRunning { usleep(2_000) }
        try #require(FileManager.default.fileExists(atPath: checkpoint.path), "the writer saved no checkpoint")

        var steps: [Int] = []
        var lockedReads = 0
        // At least 300 loads, and on until the writer has replaced the file 5 times, however
        // fast either side runs (the load limit only ends a run whose writer stopped saving).
        var attempt = 0
        while (steps.count < 300 || Set(steps).count < 5) && attempt < 100_000 && writer.isRunning {
            defer { attempt += 1 }
            if attempt % 3 == 2 {
                // A reader that takes libhdf5's file lock does not block the writer's rename,
                // and reads one complete file.
                let file = try HDF5File.open(at: checkpoint, locking: .enabled)
                defer { try? file.close() }
                let step = try file.readAttribute("global_step", as: Int64.self)
                steps.append(Int(step))
                lockedReads += 1
                continue
            }
            let loaded = try NativeCheckpoint.load(from: checkpoint)   // strict: every variable present and shaped
            #expect(loaded.snapshot.model.variables.allSatisfy { $0.value.scalars.allSatisfy(\.isFinite) })
            steps.append(loaded.snapshot.globalStep)
        }
        #expect(writer.isRunning, "the writer stopped early")
        // Files only ever get newer: a reader never sees a stale or partial replacement.
        #expect(zip(steps, steps.dropFirst()).allSatisfy { $0 <= $1 }, "\(steps)")
        let versions = Set(steps).count
        #expect(versions >= 5, "the writer replaced the file only \(versions) times during \(steps.count) loads")
        print("reader vs writer\(noFsync ? " (no fsync)" : ""): \(steps.count) loads (\(lockedReads) with libhdf5 locking), "
              + "all complete, \(versions) versions seen, steps \(steps.first ?? 0)...\(steps.last ?? 0)")
    }
}
