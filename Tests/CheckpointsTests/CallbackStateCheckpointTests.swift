import Foundation
import Datasets
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// ReduceLROnPlateau's and EarlyStopping's states travel in snapshots and native checkpoints
/// (`/callbacks`): a run stopped at any step — after a plateau reduction, during EarlyStopping's
/// patience — and resumed from the file in a fresh trainer with fresh callbacks ends bitwise
/// as the uninterrupted run. Resuming the same file without the states diverges, so the
/// states are what makes it exact.
@Suite struct CallbackStateCheckpointTests {
    static let epochs = 6
    static let stepsPerEpoch = 4   // 64 rows in batches of 16

    /// Never an improvement after the first epoch (min delta 10): reductions after epochs 3 and 5.
    static func plateau() throws -> ReduceLROnPlateau {
        try ReduceLROnPlateau(monitor: "loss", factor: 0.5, patience: 2, minDelta: 10, cooldown: 1)
    }

    /// Stops after the third epoch (two epochs without improvement) and restores the first's weights.
    static func earlyStopping() -> EarlyStopping {
        EarlyStopping(monitor: "loss", patience: 2, minDelta: 10, restoreBest: true)
    }

    struct Run {
        var trainer: Trainer
        var history: History
    }

    private func fit(_ callbacks: [any TrainingCallback], resumingFrom snapshot: TrainingSnapshot? = nil,
                     optimizer: (any Optimizer)? = nil) throws -> Run {
        var trainer = try NativeFixtures.trainer()
        if let optimizer { trainer.optimizer = optimizer }
        let history = try trainer.fit(NativeFixtures.pipeline(rows: 64, repeating: false), epochs: Self.epochs,
                                      callbacks: callbacks, progress: .quiet, resumingFrom: snapshot)
        return Run(trainer: trainer, history: history)
    }

    private func same(_ a: Run, _ b: Run) -> Bool {
        NativeFixtures.bits(a.trainer.model) == NativeFixtures.bits(b.trainer.model)
            && NativeFixtures.bits(a.trainer.optimizer.state) == NativeFixtures.bits(b.trainer.optimizer.state)
            && a.trainer.optimizer.learningRate == b.trainer.optimizer.learningRate && a.history == b.history
            && a.trainer.stopReason == b.trainer.stopReason
    }

    /// Stops after `stop`, checkpointing every epoch (and at the stop) to a file, then resumes
    /// that file with fresh callbacks: with its callback states, and with them removed.
    private func resumeFromFile(stop: Int, callbacks: () throws -> [any TrainingCallback]) throws -> (Run, Run, LoadedCheckpoint) {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("run.h5")
        let save = CheckpointCallback(frequency: .everyEpoch) { snapshot in
            try NativeCheckpoint.save(snapshot, optimizer: NativeFixtures.optimizerConfig, to: url, loss: .binaryCrossentropy,
                                      durability: .processCrashSafe)
        }
        _ = try fit([NativeStopResumeTests.StopAfterStep(globalStep: stop)] + (try callbacks()) + [save])
        let loaded = try NativeCheckpoint.load(from: url, into: try NativeFixtures.model(seed: 99))
        let resumed = try fit(try callbacks(), resumingFrom: loaded.snapshot, optimizer: loaded.makeOptimizer())
        var stateless = loaded.snapshot
        stateless.callbackStates = [:]
        let fresh = try fit(try callbacks(), resumingFrom: stateless, optimizer: loaded.makeOptimizer())
        return (resumed, fresh, loaded)
    }

    @Test func aRunStoppedAfterAPlateauReductionResumesBitwise() throws {
        let straight = try fit([try Self.plateau()])
        #expect(straight.trainer.optimizer.learningRate == 0.0025)   // 0.01 halved after epochs 3 and 5
        var diverged = 0
        for stop in 1..<(Self.epochs * Self.stepsPerEpoch) {
            let (resumed, fresh, loaded) = try resumeFromFile(stop: stop) { [try Self.plateau()] }
            #expect(same(resumed, straight), "stop at step \(stop)")
            let state = try #require(loaded.snapshot.callbackStates["ReduceLROnPlateau"], "stop at \(stop)")
            let reduced: Float? = stop > 20 ? 0.0025 : stop > 12 ? 0.005 : nil
            #expect(state.values["learning_rate"] == reduced.map(Double.init), "stop at \(stop)")
            if !same(fresh, straight) { diverged += 1 }
        }
        // Without the states every resume after the first epoch reduces late or at the wrong rate.
        #expect(diverged >= 19)
    }

    @Test func aRunStoppedDuringEarlyStoppingPatienceResumesBitwise() throws {
        let straight = try fit([Self.earlyStopping()])
        #expect(straight.history.epochs == [0, 1, 2])
        for stop in 1...(3 * Self.stepsPerEpoch - 1) {
            let (resumed, fresh, loaded) = try resumeFromFile(stop: stop) { [Self.earlyStopping()] }
            #expect(same(resumed, straight), "stop at step \(stop)")
            if stop > Self.stepsPerEpoch {
                let state = try #require(loaded.snapshot.callbackStates["EarlyStopping"])
                #expect(state.model != nil && state.values["best_epoch"] == 0, "stop at \(stop)")
                #expect(!same(fresh, straight), "stop at step \(stop): without the state the patience starts again")
            }
        }
    }

    /// A checkpoint listed before ReduceLROnPlateau and EarlyStopping saves their states as they
    /// are after the epoch, as one listed after them does: each epoch's file resumes bitwise.
    @Test func aCheckpointListedBeforeTheCallbacksItSavesStillSavesTheirStatesAfterTheEpoch() throws {
        let callbacks: () throws -> [any TrainingCallback] = {
            [try Self.plateau(), EarlyStopping(monitor: "loss", patience: 4, minDelta: 10, restoreBest: true)]
        }
        let straight = try fit(try callbacks())
        #expect(straight.history.epochs == [0, 1, 2, 3, 4])   // stopped early after the fifth epoch
        #expect(straight.trainer.optimizer.learningRate == 0.0025)   // halved after the third and the fifth
        let saved = SnapshotBox()
        _ = try fit([CheckpointCallback(frequency: .everyEpoch) { saved.append($0) }] + (try callbacks()))
        #expect(saved.values.map(\.epoch) == [1, 2, 3, 4, 5])
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for snapshot in saved.values.dropLast() {
            let url = folder.appendingPathComponent("epoch\(snapshot.epoch).h5")
            try NativeCheckpoint.save(snapshot, optimizer: NativeFixtures.optimizerConfig, to: url, durability: .processCrashSafe)
            let loaded = try NativeCheckpoint.load(from: url, into: try NativeFixtures.model(seed: 99))
            #expect(loaded.snapshot.callbackStates["EarlyStopping"]?.values["wait"] == Double(snapshot.epoch - 1))
            let resumed = try fit(try callbacks(), resumingFrom: loaded.snapshot, optimizer: loaded.makeOptimizer())
            #expect(same(resumed, straight), "resumed after epoch \(snapshot.epoch)")
        }
    }

    @Test func aKeptModelWithAMissingVariableIsAnErrorNamingIt() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("best.h5")
        let save = CheckpointCallback(frequency: .everyEpoch) { snapshot in
            try NativeCheckpoint.save(snapshot, optimizer: NativeFixtures.optimizerConfig, to: url, durability: .processCrashSafe)
        }
        _ = try fit([NativeStopResumeTests.StopAfterStep(globalStep: 6), Self.earlyStopping(), save])
        let model = try #require(try NativeCheckpoint.load(from: url).snapshot.callbackStates["EarlyStopping"]?.model)
        #expect(model.variables.map(\.name) == (try NativeFixtures.model()).variables.map(\.name))
        for removed in ["/callbacks/EarlyStopping/model/dense_1/kernel", "/callbacks/EarlyStopping/model/dense"] {
            let file = try HDF5File.open(at: url, mode: .readWrite, locking: .disabled)
            try file.remove(removed)
            try file.close()
            #expect(throws: CheckpointError.invalidCheckpoint(file: url.path, object: removed.hasSuffix("dense") ? removed + "/kernel" : removed,
                                                              reason: "missing variable of the kept model")) {
                try NativeCheckpoint.load(from: url)
            }
        }
    }

    @Test func twoCallbacksOfOneKindKeepTheirOwnStatesAndOldFilesResumeWithFreshCallbacks() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("two.h5")
        let saved = CheckpointCallback(frequency: .everyEpoch) { snapshot in
            try NativeCheckpoint.save(snapshot, optimizer: NativeFixtures.optimizerConfig, to: url, durability: .processCrashSafe)
        }
        _ = try fit([NativeStopResumeTests.StopAfterStep(globalStep: 10), EarlyStopping(monitor: "loss", patience: 9, minDelta: 10),
                     EarlyStopping(monitor: "accuracy", patience: 9), saved])
        let loaded = try NativeCheckpoint.load(from: url, into: try NativeFixtures.model(seed: 99))
        #expect(loaded.snapshot.callbackStates.keys.sorted() == ["EarlyStopping", "EarlyStopping_1"])
        #expect(loaded.snapshot.callbackStates["EarlyStopping"]?.values["wait"] == 1)

        // A checkpoint without /callbacks (written before states were saved) loads with none.
        let file = try HDF5File.open(at: url, mode: .readWrite, locking: .disabled)
        try file.remove("/callbacks")
        try file.close()
        #expect(try NativeCheckpoint.load(from: url, into: try NativeFixtures.model(seed: 99)).snapshot.callbackStates.isEmpty)
    }

    /// A state records the log it was kept for: resuming it into a callback that monitors
    /// another log (or the other direction) is refused naming both, instead of comparing
    /// `accuracy` against a best `loss`. A file without the settings (older) still resumes.
    @Test func aStateKeptForAnotherMonitorIsRefusedNamingBoth() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("monitor.h5")
        let save = CheckpointCallback(frequency: .everyEpoch) { snapshot in
            try NativeCheckpoint.save(snapshot, optimizer: NativeFixtures.optimizerConfig, to: url, durability: .processCrashSafe)
        }
        let best = CheckpointCallback(frequency: .best(monitor: "loss")) { _ in }
        _ = try fit([NativeStopResumeTests.StopAfterStep(globalStep: 10), Self.earlyStopping(), try Self.plateau(), best, save])
        let loaded = try NativeCheckpoint.load(from: url, into: try NativeFixtures.model(seed: 99))
        for name in ["EarlyStopping", "ReduceLROnPlateau", "CheckpointCallback"] {
            #expect(loaded.snapshot.callbackStates[name]?.settings == ["monitor": "loss", "direction": "minimize"], "\(name)")
        }
        // The same settings resume.
        _ = try fit([Self.earlyStopping(), try Self.plateau(), best], resumingFrom: loaded.snapshot, optimizer: loaded.makeOptimizer())

        let mismatches: [(any TrainingCallback, String)] = [
            (EarlyStopping(monitor: "accuracy", patience: 2), "the EarlyStopping state was saved with direction 'minimize', but this EarlyStopping has direction 'maximize'"),
            (EarlyStopping(monitor: "loss", patience: 2, direction: .maximize), "the EarlyStopping state was saved with direction 'minimize', but this EarlyStopping has direction 'maximize'"),
            (try ReduceLROnPlateau(monitor: "accuracy", direction: .minimize), "the ReduceLROnPlateau state was saved with monitor 'loss', but this ReduceLROnPlateau has monitor 'accuracy'"),
            (CheckpointCallback(frequency: .best(monitor: "accuracy", direction: .minimize)) { _ in },
             "the CheckpointCallback state was saved with monitor 'loss', but this CheckpointCallback has monitor 'accuracy'"),
        ]
        for (callback, message) in mismatches {
            #expect(throws: TrainingError.incompatibleSnapshot(message)) {
                _ = try fit([callback], resumingFrom: loaded.snapshot, optimizer: loaded.makeOptimizer())
            }
        }

        // Files written before settings were stored have only the numbers: they resume as before.
        let file = try HDF5File.open(at: url, mode: .readWrite, locking: .disabled)
        for name in ["EarlyStopping", "ReduceLROnPlateau", "CheckpointCallback"] {
            for setting in ["monitor", "direction"] { try file.removeAttribute(setting, of: "/callbacks/\(name)") }
        }
        try file.close()
        let old = try NativeCheckpoint.load(from: url, into: try NativeFixtures.model(seed: 99))
        #expect(old.snapshot.callbackStates["EarlyStopping"]?.settings.isEmpty == true)
        _ = try fit([EarlyStopping(monitor: "accuracy", patience: 2)], resumingFrom: old.snapshot, optimizer: old.makeOptimizer())
    }
}
