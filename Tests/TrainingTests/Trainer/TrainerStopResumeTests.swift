import Datasets
import Testing
import Tensors
@testable import Training

/// Issue 13 item 1: a `.stop` in the middle of an epoch (a time budget, a preemption) must leave
/// a checkpoint of the exact position, so that resuming from the LAST checkpoint gives the run
/// that was never stopped, bit for bit — also when checkpoints are taken once per epoch.
@Suite struct TrainerStopResumeTests {
    /// Stops training after one chosen global step, as a time budget or a preemption would.
    struct StopAfterStep: TrainingCallback {
        let globalStep: Int
        mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
            event.globalStep == globalStep ? .stop(reason: "stop requested at step \(globalStep)") : .proceed
        }
    }

    static let epochs = 3
    static let stepsPerEpoch = 4   // 64 rows in batches of 16

    private func makeTrainer() throws -> Trainer {
        Trainer(model: try TrainerFixtures.seedModel(seed: 7, dropout: true), optimizer: Adam(learningRate: 0.01),
                loss: .binaryCrossentropy)
    }

    /// A reshuffling finite pass (one iterator per epoch) or a repeated pipeline with
    /// `stepsPerEpoch` (one iterator across epochs).
    private func data(continuous: Bool) throws -> (AnyDataset<Trainer.Batch>, Int?) {
        let (x, y) = TrainerFixtures.gaussian(rows: 64, seed: 11)
        if continuous { return (try TrainerFixtures.pipeline((x, y), seed: 3), Self.stepsPerEpoch) }
        return (try Slices(x, y).shuffle(bufferSize: 64, seed: 3).batch(16).prefetch(2).eraseToAnyDataset(), nil)
    }

    private func validation() throws -> AnyDataset<Trainer.Batch> {
        let (x, y) = TrainerFixtures.gaussian(rows: 24, seed: 12)
        return try Slices(x, y).batch(8).eraseToAnyDataset()
    }

    /// A fresh trainer (so a resume takes everything from the snapshot) fitted for all epochs.
    private func run(_ train: AnyDataset<Trainer.Batch>, stepsPerEpoch: Int?, callbacks: [any TrainingCallback] = [],
                     resumingFrom snapshot: TrainingSnapshot? = nil) throws -> (Trainer, History) {
        var trainer = try makeTrainer()
        let history = try trainer.fit(train, epochs: Self.epochs, stepsPerEpoch: stepsPerEpoch, validationData: validation(),
                                      callbacks: callbacks, progress: .quiet, resumingFrom: snapshot)
        return (trainer, history)
    }

    private func expectSameRun(_ resumed: Trainer, _ straight: Trainer, _ resumedHistory: History,
                               _ straightHistory: History, _ label: String) {
        #expect(TrainerFixtures.bits(resumed.model) == TrainerFixtures.bits(straight.model), "\(label)")
        #expect(resumed.optimizer.state == straight.optimizer.state, "\(label)")
        #expect(resumed.model.randomStates == straight.model.randomStates, "\(label)")
        #expect(resumedHistory == straightHistory, "\(label)")
    }

    @Test(arguments: [false, true])
    func stoppingAtEveryStepThenResumingFromTheLastEpochCheckpointIsTheUninterruptedRun(continuous: Bool) throws {
        let (train, stepsPerEpoch) = try data(continuous: continuous)
        let (straight, straightHistory) = try run(train, stepsPerEpoch: stepsPerEpoch)
        for stop in 1...(Self.epochs * Self.stepsPerEpoch) {
            let saved = Recorder<TrainingSnapshot>()
            _ = try run(train, stepsPerEpoch: stepsPerEpoch,
                        callbacks: [StopAfterStep(globalStep: stop), CheckpointCallback(frequency: .everyEpoch) { saved.append($0) }])
            let latest = try #require(saved.values.last)
            #expect(latest.globalStep == stop, "stop at \(stop): the last checkpoint must be the stop's position")
            #expect(latest.epoch == (stop - 1) / Self.stepsPerEpoch)
            #expect(latest.stepInEpoch == (stop - 1) % Self.stepsPerEpoch + 1)

            let (resumed, history) = try run(train, stepsPerEpoch: stepsPerEpoch, resumingFrom: latest)
            expectSameRun(resumed, straight, history, straightHistory, "stop at step \(stop)")
        }
    }

    @Test func aStopAfterAnEpochEndsSavesThatBoundaryWhateverTheFrequency() throws {
        let (train, stepsPerEpoch) = try data(continuous: true)
        let (straight, straightHistory) = try run(train, stepsPerEpoch: stepsPerEpoch)
        let saved = Recorder<TrainingSnapshot>()
        // Nothing is ever an improvement of 1e9, so early stopping ends training after the second epoch.
        let (first, _) = try run(train, stepsPerEpoch: stepsPerEpoch,
                                 callbacks: [EarlyStopping(monitor: "val_loss", patience: 0, minDelta: 1e9),
                                             CheckpointCallback(frequency: .everySteps(3)) { saved.append($0) }])
        #expect(first.stopReason?.hasPrefix("early stopping") == true)
        #expect(saved.values.map(\.globalStep) == [3, 6, 8])
        let latest = try #require(saved.values.last)
        #expect(latest.epoch == 2 && latest.stepInEpoch == 0)

        let (resumed, history) = try run(train, stepsPerEpoch: stepsPerEpoch, resumingFrom: latest)
        expectSameRun(resumed, straight, history, straightHistory, "early stop after epoch 2")
    }

    @Test func aMidEpochStopDoesNotFeedAPartialEpochToEarlyStopping() throws {
        let (train, stepsPerEpoch) = try data(continuous: true)
        // The stopped epoch has no validation logs; monitoring val_loss must not turn the stop into an error.
        let (trainer, history) = try run(train, stepsPerEpoch: stepsPerEpoch,
                                         callbacks: [StopAfterStep(globalStep: 6), EarlyStopping(monitor: "val_loss", patience: 5)])
        #expect(trainer.stopReason == "stop requested at step 6")
        #expect(history.epochs == [0, 1])   // the stopped epoch's partial logs are still reported
        #expect(history["val_loss"]?.count == 1)
    }

    @Test(arguments: [CheckpointCallback.Frequency.everyEpoch, .everySteps(1)])
    func aNonFiniteStopNeverReplacesTheLastGoodCheckpoint(frequency: CheckpointCallback.Frequency) throws {
        var x = [Float](repeating: 0.5, count: 24)
        x[21] = .nan   // row 21 is in the sixth batch of 4: the second epoch's third step
        let data = try Slices(try Tensor<Float>(shape: [24, 1], scalars: x), Tensor<Float>(zeros: [24, 1])).batch(4)
        var trainer = Trainer(model: try Sequential(inputFeatures: 1, [Dense(units: 1)], seed: 1),
                              optimizer: SGD(momentum: 0.5), loss: .meanSquaredError)
        let saved = Recorder<TrainingSnapshot>()
        try trainer.fit(data, epochs: 2, stepsPerEpoch: 3,
                        callbacks: [TerminateOnNonFiniteLoss(), CheckpointCallback(frequency: frequency) { saved.append($0) }],
                        progress: .quiet)
        #expect(trainer.stopReason?.hasPrefix("loss became nan at epoch 2, step 3") == true)
        #expect(!Self.isFinite(trainer.model.variables.map(\.value)))   // the stopped model did diverge
        #expect(saved.values.allSatisfy { Self.isFinite($0.model.variables.map(\.value) + Array($0.optimizerState.slots.values)) })
        let expected: [Int]
        if case .everyEpoch = frequency { expected = [3] } else { expected = [1, 2, 3, 4, 5] }
        #expect(saved.values.map(\.globalStep) == expected)
    }

    private static func isFinite(_ tensors: [Tensor<Float>]) -> Bool {
        tensors.allSatisfy { $0.scalars.allSatisfy(\.isFinite) }
    }
}
