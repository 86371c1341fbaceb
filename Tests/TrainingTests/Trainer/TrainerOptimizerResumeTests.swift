import Datasets
import Testing
import Tensors
@testable import Training

/// Issue 13 item 4: a snapshot resumed with another optimizer (kind or a hyper-parameter that
/// changes results) is one typed error naming both; only the learning rate may change.
@Suite struct TrainerOptimizerResumeTests {
    private func adamSnapshot() throws -> (TrainingSnapshot, AnyDataset<Trainer.Batch>) {
        let data = try TrainerFixtures.pipeline(TrainerFixtures.gaussian(rows: 64, seed: 1), seed: 1)
        let saved = Recorder<TrainingSnapshot>()
        var trainer = Trainer(model: try TrainerFixtures.seedModel(), optimizer: Adam(), loss: .binaryCrossentropy)
        try trainer.fit(data, epochs: 1, stepsPerEpoch: 4,
                        callbacks: [CheckpointCallback(frequency: .everyEpoch) { saved.append($0) }], progress: .quiet)
        return (try #require(saved.values.last), data)
    }

    @Test func anAdamSnapshotResumedWithAnotherOptimizerIsOneErrorNamingBoth() throws {
        let (snapshot, data) = try adamSnapshot()
        let others: [(any Optimizer, String)] = [
            (SGD(momentum: 0.9), "sgd"), (SGD(), "sgd"), (Adam(beta1: 0.8), "beta_1: 0.8"), (Adam(epsilon: 1e-3), "epsilon: 0.001"),
        ]
        for (optimizer, named) in others {
            var trainer = Trainer(model: try TrainerFixtures.seedModel(), optimizer: optimizer, loss: .binaryCrossentropy)
            let error = #expect(throws: TrainingError.optimizerMismatch(saved: Adam().identity, given: optimizer.identity)) {
                try trainer.fit(data, epochs: 2, stepsPerEpoch: 4, progress: .quiet, resumingFrom: snapshot)
            }
            let message = error?.localizedDescription ?? ""
            #expect(message.contains("adam(amsgrad: false, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-07)") && message.contains(named),
                    "\(message)")
            #expect(trainer.optimizer.iterations == 0)   // refused before anything ran
        }
        #expect(SGD(momentum: 0.9).identity.description == "sgd(momentum: 0.9, nesterov: false)")
    }

    @Test func anotherLearningRateIsAllowedForFineTuning() throws {
        let (snapshot, data) = try adamSnapshot()
        var trainer = Trainer(model: try TrainerFixtures.seedModel(), optimizer: Adam(learningRate: 1e-4),
                              loss: .binaryCrossentropy)
        try trainer.fit(data, epochs: 2, stepsPerEpoch: 4, progress: .quiet, resumingFrom: snapshot)
        #expect(trainer.optimizer.iterations == 8)
        #expect(trainer.optimizer.learningRate == 1e-4)
    }
}
