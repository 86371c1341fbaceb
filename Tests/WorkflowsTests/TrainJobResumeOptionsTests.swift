import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import Workflows
import CheckpointsTestSupport

/// Issue 13 items 4 and 5 through files: `--resume` with the command line that wrote the
/// checkpoint is accepted, a conflicting option is refused naming it and both values, and a
/// native checkpoint resumed with another optimizer in memory is one typed error.
@Suite(.serialized) struct TrainJobResumeOptionsTests {
    /// Data and a fresh Keras model in a new folder; the job's options are those of a first run.
    private func firstRun(epochs: Int, output: String) throws -> (folder: URL, job: TrainJob) {
        let folder = try NativeFixtures.trainingFolder()
        return (folder, options(folder, epochs: epochs, output: output))
    }

    private func options(_ folder: URL, epochs: Int, output: String) -> TrainJob {
        var job = TrainJob(data: folder.appendingPathComponent("d.h5"), output: folder.appendingPathComponent(output))
        job.model = folder.appendingPathComponent("m.keras")
        job.loss = .binaryCrossentropy
        job.optimizer = .adam
        job.learningRate = 0.01
        job.epochs = epochs
        job.batchSize = 8
        job.seed = 4
        return job
    }

    @Test func theSameOptionsAsTheRunThatWroteTheCheckpointAreAccepted() throws {
        let (folder, first) = try firstRun(epochs: 1, output: "one.h5")
        try first.run(progress: .quiet)
        try options(folder, epochs: 3, output: "straight.h5").run(progress: .quiet)
        var again = options(folder, epochs: 3, output: "resumed.h5")
        again.resume = folder.appendingPathComponent("one.h5")
        try again.run(progress: .quiet)
        let straight = try NativeCheckpoint.load(from: folder.appendingPathComponent("straight.h5"))
        let resumed = try NativeCheckpoint.load(from: folder.appendingPathComponent("resumed.h5"))
        #expect(NativeFixtures.bits(resumed.snapshot.model) == NativeFixtures.bits(straight.snapshot.model))
        #expect(NativeFixtures.bits(resumed.snapshot.optimizerState) == NativeFixtures.bits(straight.snapshot.optimizerState))
        #expect(resumed.snapshot.history == straight.snapshot.history)
        #expect(resumed.optimizer == straight.optimizer)
    }

    @Test func aConflictingOptionIsRefusedNamingItAndBothValues() throws {
        let (folder, first) = try firstRun(epochs: 1, output: "one.h5")
        try first.run(progress: .quiet)
        var again = options(folder, epochs: 2, output: "again.h5")
        again.resume = folder.appendingPathComponent("one.h5")
        let checkpoint = folder.appendingPathComponent("one.h5").path
        func message(_ change: (inout TrainJob) -> Void) -> String {
            var job = again
            change(&job)
            do {
                try job.run(progress: .quiet)
                return "accepted"
            } catch {
                return error.localizedDescription
            }
        }
        var sgd = again
        sgd.optimizer = .sgd
        #expect(throws: WorkflowError.resumeOptionConflict(file: checkpoint, setting: .optimizer, checkpoint: "adam",
                                                             given: "sgd")) { try sgd.run(progress: .quiet) }
        let optimizer = message { $0.optimizer = .sgd }
        #expect(optimizer.contains(checkpoint) && optimizer.contains("optimizer") && optimizer.contains("adam")
                && optimizer.contains("sgd"), "\(optimizer)")
        let momentum = message { $0.optimizer = nil; $0.momentum = 0.9 }
        #expect(momentum.contains("momentum") && momentum.contains("adam") && momentum.contains("0.9"), "\(momentum)")
        #expect(throws: WorkflowError.resumeOptionConflict(file: checkpoint, setting: .weightDecay, checkpoint: "none",
                                                             given: "0.01")) {
            var job = again
            job.weightDecay = 0.01
            try job.run(progress: .quiet)
        }
        #expect(throws: WorkflowError.resumeOptionConflict(file: checkpoint, setting: .nesterov, checkpoint: "false",
                                                             given: "true")) {
            var job = again
            job.nesterov = true
            try job.run(progress: .quiet)
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("again.h5").path))
    }

    @Test func anotherLearningRateContinuesWithIt() throws {
        let (folder, first) = try firstRun(epochs: 1, output: "one.h5")
        try first.run(progress: .quiet)
        var again = options(folder, epochs: 2, output: "again.h5")
        again.resume = folder.appendingPathComponent("one.h5")
        again.learningRate = 0.002
        try again.run(progress: .quiet)
        let resumed = try NativeCheckpoint.load(from: folder.appendingPathComponent("again.h5"))
        #expect(resumed.optimizer == .adam(learningRate: 0.002, beta1: 0.9, beta2: 0.999, epsilon: 1e-7))
        #expect(resumed.snapshot.history.epochs == [0, 1])
    }

    @Test func aCheckpointFileResumedWithAnotherOptimizerIsOneErrorNamingBoth() throws {
        let data = try NativeFixtures.pipeline(repeating: true)
        let folder = try NativeFixtures.folder()
        let directory = try CheckpointDirectory(
            url: folder, keepLast: 1, optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7))
        var first = try NativeFixtures.trainer()
        try first.fit(data, epochs: 1, stepsPerEpoch: 3, callbacks: [directory.callback(frequency: .everyEpoch)],
                      progress: .quiet)
        for optimizer: any Optimizer in [SGD(momentum: 0.9), SGD()] {
            let loaded = try NativeCheckpoint.load(from: try #require(directory.latest))
            #expect(loaded.snapshot.optimizerIdentity == Adam().identity)
            var trainer = Trainer(model: loaded.snapshot.model, optimizer: optimizer, loss: .binaryCrossentropy)
            #expect(throws: TrainingError.optimizerMismatch(saved: Adam().identity, given: optimizer.identity)) {
                try trainer.fit(data, epochs: 2, stepsPerEpoch: 3, progress: .quiet, resumingFrom: loaded.snapshot)
            }
        }
    }
}
