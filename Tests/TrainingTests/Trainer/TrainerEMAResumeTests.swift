import Datasets
import Testing
import Tensors
@testable import Training

/// `fit` writes the optimizer's EMA over the model when training ends (Keras's
/// `finalize_variable_values`); checkpoints taken on the way hold the training weights, so a
/// run stopped anywhere (mid-epoch too) and resumed ends bitwise with the uninterrupted one.
@Suite struct TrainerEMAResumeTests {
    static let epochs = 3
    static let stepsPerEpoch = 4

    private func makeTrainer() throws -> Trainer {
        var options = OptimizerOptions(learningRate: 0.01)
        options.weightDecay = 0.01
        options.globalClipnorm = 1
        options.useEMA = true
        options.emaMomentum = 0.9
        options.emaOverwriteFrequency = 5
        return Trainer(model: try TrainerFixtures.seedModel(seed: 7, dropout: true), optimizer: AdamW(options: options),
                       loss: .binaryCrossentropy)
    }

    private func run(callbacks: [any TrainingCallback] = [], resumingFrom snapshot: TrainingSnapshot? = nil) throws -> Trainer {
        let (x, y) = TrainerFixtures.gaussian(rows: 64, seed: 11)
        var trainer = try makeTrainer()
        try trainer.fit(try TrainerFixtures.pipeline((x, y), seed: 3), epochs: Self.epochs, stepsPerEpoch: Self.stepsPerEpoch,
                        callbacks: callbacks, progress: .quiet, resumingFrom: snapshot)
        return trainer
    }

    @Test func theModelAfterFitIsTheEMAOfTheWeights() throws {
        let saved = Recorder<TrainingSnapshot>()
        let trainer = try run(callbacks: [CheckpointCallback(frequency: .everyEpoch) { saved.append($0) }])
        let last = try #require(saved.values.last)
        for variable in trainer.model.trainableVariableNames {
            let average = try #require(trainer.optimizer.state.slots["\(variable)/average"])
            let final = try #require(trainer.model.variables.first { $0.name == variable }).value
            let training = try #require(last.model.variables.first { $0.name == variable }).value
            #expect(final.scalars == average.scalars, "\(variable)")
            #expect(training.scalars != average.scalars, "\(variable): the snapshot keeps the training weights")
        }
    }

    @Test func stoppingAtEveryStepAndResumingEndsWithTheUninterruptedRunsWeights() throws {
        let straight = try run()
        for stop in 1...(Self.epochs * Self.stepsPerEpoch - 1) {
            let saved = Recorder<TrainingSnapshot>()
            _ = try run(callbacks: [TrainerStopResumeTests.StopAfterStep(globalStep: stop),
                                    CheckpointCallback(frequency: .everyEpoch) { saved.append($0) }])
            let snapshot: TrainingSnapshot = try #require(saved.values.last)
            let resumed = try run(resumingFrom: snapshot)
            #expect(TrainerFixtures.bits(resumed.model) == TrainerFixtures.bits(straight.model), "stop at step \(stop)")
            #expect(resumed.optimizer.state == straight.optimizer.state, "stop at step \(stop)")
        }
    }
}
