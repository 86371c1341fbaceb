import Foundation
import Datasets
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Issue 13 item 1 through files: a run with per-epoch checkpoints in a `CheckpointDirectory`
/// is stopped in the middle of an epoch; `latest` then holds the exact stop position, and
/// resuming from it in a fresh trainer gives the uninterrupted run bit for bit.
@Suite struct NativeStopResumeTests {
    struct StopAfterStep: TrainingCallback {
        let globalStep: Int
        mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
            event.globalStep == globalStep ? .stop(reason: "preempted") : .proceed
        }
    }

    @Test func aMidEpochStopLeavesTheExactPositionAsTheLatestCheckpoint() throws {
        let data = try NativeFixtures.pipeline(rows: 64, repeating: false)   // 4 reshuffled batches per epoch
        var straight = try NativeFixtures.trainer()
        let straightHistory = try straight.fit(data, epochs: 3, progress: .quiet)
        for stop in 5...8 {   // every step of the second epoch
            let folder = try NativeFixtures.folder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let directory = try CheckpointDirectory(
                url: folder, keepLast: 2, optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7),
                loss: .binaryCrossentropy, durability: .processCrashSafe)
            var first = try NativeFixtures.trainer()
            try first.fit(data, epochs: 3, callbacks: [StopAfterStep(globalStep: stop), directory.callback(frequency: .everyEpoch)],
                          progress: .quiet)
            let latest = try #require(directory.latest)
            let loaded = try NativeCheckpoint.load(from: latest, into: try NativeFixtures.model(seed: 1234))
            #expect(loaded.snapshot.globalStep == stop && loaded.snapshot.epoch == 1
                    && loaded.snapshot.stepInEpoch == stop - 4 && loaded.snapshot.iteratorState != nil)
            var resumed = Trainer(model: loaded.snapshot.model, optimizer: loaded.makeOptimizer(), loss: .binaryCrossentropy)
            let history = try resumed.fit(data, epochs: 3, progress: .quiet, resumingFrom: loaded.snapshot)
            #expect(NativeFixtures.bits(resumed.model) == NativeFixtures.bits(straight.model), "stop at \(stop)")
            #expect(NativeFixtures.bits(resumed.optimizer.state) == NativeFixtures.bits(straight.optimizer.state))
            #expect(resumed.optimizer.state.iterations == straight.optimizer.state.iterations)
            #expect(resumed.model.randomStates == straight.model.randomStates)
            #expect(history == straightHistory, "stop at \(stop)")
        }
    }
}
