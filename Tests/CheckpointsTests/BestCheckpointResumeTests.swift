import Foundation
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// A save-best-only ``CheckpointCallback`` keeps its best value in snapshots and native
/// checkpoints (`/callbacks`), whatever its place in the callback list: a run stopped at any
/// step and resumed from its latest checkpoint file saves the same best checkpoints, with the
/// same contents, as the run that was never stopped. Without the state, the resumed callback
/// takes its first judged epoch for a new best and overwrites the better checkpoint.
@Suite struct BestCheckpointResumeTests {
    static let epochs = 6
    static let stepsPerEpoch = 4   // 64 rows in batches of 16

    /// Every best save of one run (epoch and bitwise model), and the best file it left.
    struct BestSaves: Equatable {
        var epochs: [Int]
        var models: [[String: [UInt32]]]
        var fileModel: [String: [UInt32]]?
    }

    /// Files and recorded saves of one run (the first part and the resumed part share them).
    struct Files {
        let folder: URL
        let saves = SnapshotBox()
        var best: URL { folder.appendingPathComponent("best.h5") }
        var latest: URL { folder.appendingPathComponent("latest.h5") }

        func result() throws -> BestSaves {
            let fileModel = FileManager.default.fileExists(atPath: best.path)
                ? NativeFixtures.bits(try NativeCheckpoint.load(from: best, into: try NativeFixtures.model(seed: 99)).snapshot.model)
                : nil
            return BestSaves(epochs: saves.values.map(\.epoch), models: saves.values.map { NativeFixtures.bits($0.model) },
                             fileModel: fileModel)
        }
    }

    /// The best checkpoint (on the training accuracy, which stalls between improvements) and a
    /// latest checkpoint every epoch and at a stop, in either order.
    private func callbacks(_ files: Files, latestFirst: Bool) -> [any TrainingCallback] {
        let best = CheckpointCallback(frequency: .best(monitor: "accuracy")) { snapshot in
            files.saves.append(snapshot)
            try NativeCheckpoint.save(snapshot, optimizer: NativeFixtures.optimizerConfig, to: files.best,
                                      loss: .binaryCrossentropy, durability: .processCrashSafe)
        }
        let latest = CheckpointCallback(frequency: .everyEpoch) { snapshot in
            try NativeCheckpoint.save(snapshot, optimizer: NativeFixtures.optimizerConfig, to: files.latest,
                                      loss: .binaryCrossentropy, durability: .processCrashSafe)
        }
        return latestFirst ? [latest, best] : [best, latest]
    }

    private func fit(_ callbacks: [any TrainingCallback], resumingFrom loaded: LoadedCheckpoint? = nil) throws -> Trainer {
        var trainer = try NativeFixtures.trainer()
        if let loaded { trainer.optimizer = loaded.makeOptimizer() }
        try trainer.fit(NativeFixtures.pipeline(rows: 64, repeating: false), epochs: Self.epochs,
                        callbacks: callbacks, progress: .quiet, resumingFrom: loaded?.snapshot)
        return trainer
    }

    /// Stops after `stop`, then resumes from the latest file with fresh callbacks; with
    /// `dropStates` the file's callback states are removed first (a checkpoint written before
    /// they were saved).
    private func interrupted(stop: Int, latestFirst: Bool, dropStates: Bool = false) throws -> (BestSaves, Trainer) {
        let files = Files(folder: try NativeFixtures.folder())
        defer { try? FileManager.default.removeItem(at: files.folder) }
        _ = try fit([NativeStopResumeTests.StopAfterStep(globalStep: stop)] + callbacks(files, latestFirst: latestFirst))
        var loaded = try NativeCheckpoint.load(from: files.latest, into: try NativeFixtures.model(seed: 99))
        if dropStates { loaded.snapshot.callbackStates = [:] }
        let trainer = try fit(callbacks(files, latestFirst: latestFirst), resumingFrom: loaded)
        return (try files.result(), trainer)
    }

    @Test(arguments: [false, true])
    func aStoppedRunResumedFromItsLatestFileSavesTheSameBestCheckpoints(latestFirst: Bool) throws {
        let files = Files(folder: try NativeFixtures.folder())
        defer { try? FileManager.default.removeItem(at: files.folder) }
        let straightTrainer = try fit(callbacks(files, latestFirst: latestFirst))
        let straight = try files.result()
        // The fixture must have epochs that are not a new best, or a lost best value would go unnoticed.
        #expect(straight.epochs.count > 1 && straight.epochs.count < Self.epochs)
        #expect(straight.fileModel == straight.models.last)

        var divergedWithoutStates = 0
        for stop in 1..<(Self.epochs * Self.stepsPerEpoch) {
            let (resumed, trainer) = try interrupted(stop: stop, latestFirst: latestFirst)
            #expect(resumed == straight, "stop at step \(stop): saved \(resumed.epochs), uninterrupted \(straight.epochs)")
            #expect(NativeFixtures.bits(trainer.model) == NativeFixtures.bits(straightTrainer.model), "stop at step \(stop)")
            if try interrupted(stop: stop, latestFirst: latestFirst, dropStates: true).0 != straight { divergedWithoutStates += 1 }
        }
        // Without the stored best value, every resume before a stalled epoch saves it over the best.
        #expect(divergedWithoutStates > 0)
    }
}
