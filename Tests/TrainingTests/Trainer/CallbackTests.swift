import Testing
import Tensors
@testable import Training

@Suite struct CallbackTests {
    private func event(_ epoch: Int, _ logs: [String: Double], model: Sequential) -> EpochEvent {
        EpochEvent(epoch: epoch, logs: logs, model: model)
    }

    private func noSnapshot() throws -> TrainingSnapshot { throw TrainingError.emptyDataset(argument: "unused") }

    /// A snapshot of `model` at an epoch boundary, for callbacks driven by hand.
    private static func snapshot(_ model: Sequential, epoch: Int) -> TrainingSnapshot {
        TrainingSnapshot(model: model, optimizerState: OptimizerState(), iteratorState: nil,
                         epoch: epoch, stepInEpoch: 0, globalStep: 0, history: History())
    }

    @Test func earlyStoppingWaitsPatienceEpochsWithoutImprovement() throws {
        let model = try TrainerFixtures.seedModel()
        var stop = EarlyStopping(monitor: "val_loss", patience: 2)
        let losses = [1.0, 0.8, 0.85, 0.9]
        var decisions: [CallbackDecision] = []
        for (epoch, loss) in losses.enumerated() {
            decisions.append(try stop.epochDidEnd(event(epoch, ["val_loss": loss], model: model), snapshot: noSnapshot))
        }
        #expect(decisions[0...2].allSatisfy { $0 == .proceed })
        guard case let .stop(reason) = decisions[3] else { Issue.record("expected a stop at epoch 4"); return }
        #expect(reason.contains("val_loss did not improve for 2 epochs"))
        #expect(stop.best?.epoch == 1)
    }

    @Test func earlyStoppingMaximizesAccuracyAndRestoresTheBestModel() throws {
        let worse = try TrainerFixtures.seedModel(seed: 1)
        let best = try TrainerFixtures.seedModel(seed: 2)
        var stop = EarlyStopping(monitor: "val_accuracy", patience: 1, restoreBest: true)
        _ = try stop.epochDidEnd(event(0, ["val_accuracy": 0.5], model: worse), snapshot: noSnapshot)
        _ = try stop.epochDidEnd(event(1, ["val_accuracy": 0.9], model: best), snapshot: noSnapshot)
        let decision = try stop.epochDidEnd(event(2, ["val_accuracy": 0.7], model: worse), snapshot: noSnapshot)
        #expect(decision != .proceed)
        let restoredModel = stop.trainingDidEnd(model: worse)
        let restored = try #require(restoredModel)
        #expect(TrainerFixtures.bits(restored) == TrainerFixtures.bits(best))
    }

    @Test func monitoringAnUnknownLogIsAnErrorListingTheLogs() throws {
        var stop = EarlyStopping(monitor: "val_los")
        #expect(throws: TrainingError.unknownMonitor(callback: "EarlyStopping", name: "val_los",
                                                     available: ["loss", "val_loss"])) {
            try stop.epochDidEnd(event(0, ["loss": 1, "val_loss": 1], model: try TrainerFixtures.seedModel()),
                                 snapshot: noSnapshot)
        }
    }

    @Test func earlyStoppingEndsFitAndKeepsTheReason() throws {
        let data = TrainerFixtures.gaussian(rows: 64, seed: 1)
        var trainer = Trainer(model: try TrainerFixtures.seedModel(), optimizer: SGD(learningRate: 0),
                              loss: .binaryCrossentropy)
        // A zero learning rate never improves the training loss after epoch 1.
        let history = try trainer.fit(try TrainerFixtures.pipeline(data, seed: 1), epochs: 10, stepsPerEpoch: 2,
                                      callbacks: [EarlyStopping(monitor: "accuracy", patience: 1, minDelta: 0.5)],
                                      progress: .quiet)
        #expect(history.epochs == [0, 1])
        #expect(trainer.stopReason?.hasPrefix("early stopping") == true)
    }

    @Test func checkpointOnBestSavesOnlyOnImprovement() throws {
        let saves = Recorder<Int>()
        var checkpoint = CheckpointCallback(frequency: .best(monitor: "val_loss")) { saves.append($0.epoch) }
        let model = try TrainerFixtures.seedModel()
        for (epoch, loss) in [0.9, 0.5, 0.7, 0.4].enumerated() {
            _ = try checkpoint.epochDidEnd(event(epoch, ["val_loss": loss], model: model)) { Self.snapshot(model, epoch: epoch) }
        }
        #expect(saves.values == [0, 1, 3])
    }

    /// The callback states each epoch's checkpoint holds, with the checkpoint listed before or
    /// after the callbacks (values by stored name, then by key).
    private func statesSaved(checkpointFirst: Bool) throws -> [[String: [String: Double]]] {
        let (x, y) = TrainerFixtures.gaussian(rows: 64, seed: 11)
        var trainer = Trainer(model: try TrainerFixtures.seedModel(seed: 7), optimizer: SGD(learningRate: 0.01),
                              loss: .binaryCrossentropy)
        let saved = Recorder<TrainingSnapshot>()
        let checkpoint = CheckpointCallback(frequency: .everyEpoch) { saved.append($0) }
        // Nothing improves by 1e9: every epoch after the first adds to the waits and halves the rate.
        let others: [any TrainingCallback] = [try ReduceLROnPlateau(monitor: "loss", factor: 0.5, patience: 1, minDelta: 1e9),
                                              EarlyStopping(monitor: "loss", patience: 9, minDelta: 1e9)]
        try trainer.fit(try TrainerFixtures.pipeline((x, y), seed: 3), epochs: 3, stepsPerEpoch: 4,
                        callbacks: checkpointFirst ? [checkpoint] + others : others + [checkpoint], progress: .quiet)
        return saved.values.map { $0.callbackStates.mapValues(\.values) }
    }

    @Test func anEpochCheckpointHoldsEveryCallbacksStateAfterThatEpochWhateverTheOrder() throws {
        let first = try statesSaved(checkpointFirst: true), last = try statesSaved(checkpointFirst: false)
        #expect(first == last)
        #expect(last.map { $0["EarlyStopping"]?["wait"] } == [0, 1, 2])
        let halved = Float(Double(Float(0.01)) * 0.5), quartered = Float(Double(halved) * 0.5)
        #expect(last.map { $0["ReduceLROnPlateau"]?["learning_rate"] } == [nil, Double(halved), Double(quartered)])
    }

    @Test func aBestCheckpointsSnapshotHoldsTheBestValueItWasSavedFor() throws {
        let (x, y) = TrainerFixtures.gaussian(rows: 64, seed: 11)
        var trainer = Trainer(model: try TrainerFixtures.seedModel(seed: 7), optimizer: SGD(learningRate: 0.05),
                              loss: .binaryCrossentropy)
        let saved = Recorder<TrainingSnapshot>()
        let history = try trainer.fit(try TrainerFixtures.pipeline((x, y), seed: 3), epochs: 4, stepsPerEpoch: 4,
                                      callbacks: [CheckpointCallback(frequency: .best(monitor: "loss")) { saved.append($0) }],
                                      progress: .quiet)
        #expect(!saved.values.isEmpty)
        for snapshot in saved.values {
            // Saved after the epoch `snapshot.epoch - 1`, whose loss is the new best.
            #expect(snapshot.callbackStates["CheckpointCallback"]?.values == ["best": history["loss"]![snapshot.epoch - 1]])
        }
    }

    @Test func aCheckpointsStateRoundTripsAndIsAbsentWhenThereIsNothingToKeep() throws {
        let model = try TrainerFixtures.seedModel()
        var optimizer: any Optimizer = SGD()
        var best = CheckpointCallback(frequency: .best(monitor: "val_loss")) { _ in }
        #expect(best.resumableState(optimizer: optimizer).values.isEmpty)   // nothing seen yet
        _ = try best.epochDidEnd(event(0, ["val_loss": 0.5], model: model)) { Self.snapshot(model, epoch: 0) }
        #expect(best.resumableState(optimizer: optimizer).values == ["best": 0.5])

        // A resumed callback keeps saving only on improvement; one from an older snapshot (no state) starts fresh.
        let saves = Recorder<Int>()
        var resumed = CheckpointCallback(frequency: .best(monitor: "val_loss")) { saves.append($0.epoch) }
        try resumed.restore(best.resumableState(optimizer: optimizer), optimizer: &optimizer)
        var fresh = CheckpointCallback(frequency: .best(monitor: "val_loss")) { saves.append(-$0.epoch) }
        try fresh.restore(CallbackState(), optimizer: &optimizer)
        for callback in [resumed, fresh] {
            var callback = callback
            for (epoch, loss) in [(1, 0.6), (2, 0.4)] {
                _ = try callback.epochDidEnd(event(epoch, ["val_loss": loss], model: model)) { Self.snapshot(model, epoch: epoch) }
            }
        }
        #expect(saves.values == [2, -1, -2])

        // Other frequencies keep no state, so snapshots store none for them.
        let every: [any TrainingCallback] = [CheckpointCallback(frequency: .everyEpoch) { _ in }, best]
        #expect(every.resumableStates(optimizer: optimizer).keys.sorted() == ["CheckpointCallback_1"])
    }
}
