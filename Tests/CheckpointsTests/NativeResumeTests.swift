import Foundation
import Datasets
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Exact resume through the FILE: save, drop every in-memory value, load from disk into a
/// freshly initialized model, continue — and get the uninterrupted run bit for bit.
@Suite struct NativeResumeTests {
    private static let adam = OptimizerConfig.adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)

    private func expectSameRun(_ a: Trainer, _ b: Trainer, _ historyA: History, _ historyB: History) {
        #expect(NativeFixtures.bits(a.model) == NativeFixtures.bits(b.model))   // incl. moving statistics
        #expect(a.optimizer.state.iterations == b.optimizer.state.iterations)
        #expect(NativeFixtures.bits(a.optimizer.state) == NativeFixtures.bits(b.optimizer.state))
        #expect(a.model.randomStates == b.model.randomStates)
        #expect(historyA == historyB)
    }

    /// Resumes from `url` into a model with other initial weights and a fresh optimizer.
    private func resume(from url: URL, data: AnyDataset<Trainer.Batch>, stepsPerEpoch: Int?) throws -> (Trainer, History) {
        let loaded = try NativeCheckpoint.load(from: url, into: try NativeFixtures.model(seed: 1234))
        var trainer = Trainer(model: loaded.snapshot.model, optimizer: loaded.makeOptimizer(), loss: .binaryCrossentropy)
        let history = try trainer.fit(data, epochs: 5, stepsPerEpoch: stepsPerEpoch, progress: .quiet,
                                      resumingFrom: loaded.snapshot)
        return (trainer, history)
    }

    @Test func twoEpochsSavedThenThreeMoreFromTheFileEqualFiveStraight() throws {
        let data = try NativeFixtures.pipeline(repeating: false)   // shuffle, dropout, prefetch
        var straight = try NativeFixtures.trainer()
        let straightHistory = try straight.fit(data, epochs: 5, progress: .quiet)

        let folder = try NativeFixtures.folder()
        let directory = try CheckpointDirectory(url: folder, keepLast: 1, optimizer: Self.adam)
        do {
            var first = try NativeFixtures.trainer()
            try first.fit(data, epochs: 2, callbacks: [directory.callback(frequency: .everyEpoch)], progress: .quiet)
        }
        let (resumed, history) = try resume(from: try #require(directory.latest), data: data, stepsPerEpoch: nil)
        #expect(history.epochs == [0, 1, 2, 3, 4])
        expectSameRun(resumed, straight, history, straightHistory)
    }

    @Test func aMidEpochCheckpointOfARepeatedPipelineResumesExactly() throws {
        let data = try NativeFixtures.pipeline(repeating: true)
        var plain = try NativeFixtures.trainer()
        let plainHistory = try plain.fit(data, epochs: 5, stepsPerEpoch: 7, progress: .quiet)

        let folder = try NativeFixtures.folder()
        let directory = try CheckpointDirectory(url: folder, keepLast: 2, optimizer: Self.adam)
        var saving = try NativeFixtures.trainer()
        let savingHistory = try saving.fit(data, epochs: 5, stepsPerEpoch: 7,
                                           callbacks: [directory.callback(frequency: .everySteps(10))], progress: .quiet)
        // Saving must not disturb the run (iterator state is read without advancing anything).
        expectSameRun(saving, plain, savingHistory, plainHistory)

        // Steps 10, 20, 30 were saved; the last two are kept. Step 20 is epoch 2, step 6.
        #expect(try directory.checkpoints().map(\.globalStep) == [20, 30])
        let url = directory.fileURL(globalStep: 20)
        let peek = try NativeCheckpoint.load(from: url, into: try NativeFixtures.model())
        #expect(peek.snapshot.epoch == 2 && peek.snapshot.stepInEpoch == 6 && peek.snapshot.iteratorState != nil)
        let (resumed, history) = try resume(from: url, data: data, stepsPerEpoch: 7)
        expectSameRun(resumed, plain, history, plainHistory)
    }
}
