import Datasets
import Testing
import Tensors
@testable import Training

@Suite struct TrainerResumeTests {
    /// Captures snapshots handed to a checkpoint callback.
    final class Snapshots: @unchecked Sendable {
        let recorder = Recorder<TrainingSnapshot>()
    }

    private func makeTrainer() throws -> Trainer {
        Trainer(model: try TrainerFixtures.seedModel(seed: 7, dropout: true), optimizer: Adam(),
                loss: .binaryCrossentropy)
    }

    private func validation() throws -> AnyDataset<Trainer.Batch> {
        let (x, y) = TrainerFixtures.gaussian(rows: 40, seed: 12)
        return try Slices(x, y).batch(16).eraseToAnyDataset()
    }

    @Test(arguments: [CheckpointCallback.Frequency.everyEpoch, .everySteps(25)])
    func resumingFromASnapshotReproducesTheUninterruptedRunBitForBit(frequency: CheckpointCallback.Frequency) throws {
        let data = try TrainerFixtures.pipeline(TrainerFixtures.gaussian(rows: 300, seed: 11), seed: 3)

        var straight = try makeTrainer()
        let straightHistory = try straight.fit(data, epochs: 5, stepsPerEpoch: 20, validationData: validation(),
                                               progress: .quiet)

        let captured = Snapshots()
        var first = try makeTrainer()
        let hook = CheckpointCallback(frequency: frequency) { captured.recorder.append($0) }
        // Stop after the second epoch's checkpoint, as a crash would.
        try first.fit(data, epochs: 2, stepsPerEpoch: 20, validationData: validation(), callbacks: [hook],
                      progress: .quiet)
        let snapshot = try #require(captured.recorder.values.last)

        var resumed = try makeTrainer()   // fresh weights: everything must come from the snapshot
        let resumedHistory = try resumed.fit(data, epochs: 5, stepsPerEpoch: 20, validationData: validation(),
                                             progress: .quiet, resumingFrom: snapshot)
        #expect(TrainerFixtures.bits(resumed.model) == TrainerFixtures.bits(straight.model))
        #expect(resumed.optimizer.state == straight.optimizer.state)
        #expect(resumed.model.randomStates == straight.model.randomStates)
        #expect(resumedHistory == straightHistory)
    }

    @Test func aSnapshotOfAnotherArchitectureIsRejected() throws {
        let data = try TrainerFixtures.pipeline(TrainerFixtures.gaussian(rows: 64, seed: 1), seed: 1)
        let captured = Snapshots()
        var trainer = try makeTrainer()
        try trainer.fit(data, epochs: 1, stepsPerEpoch: 4,
                        callbacks: [CheckpointCallback(frequency: .everyEpoch) { captured.recorder.append($0) }],
                        progress: .quiet)
        var other = Trainer(model: try Sequential(inputFeatures: 1, [Dense(units: 1, activation: .sigmoid)], seed: 1),
                            optimizer: Adam(), loss: .binaryCrossentropy)
        #expect(throws: TrainingError.self) {
            try other.fit(data, epochs: 2, stepsPerEpoch: 4, progress: .quiet,
                          resumingFrom: captured.recorder.values[0])
        }
    }
}
