import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import Workflows
import CheckpointsTestSupport

/// `TrainJob`, the library behind `batchwise train`, in process.
@Suite struct NativeTrainJobTests {
    /// float32 features, 1-D uint8 labels, and a native checkpoint of a fresh model to fine-tune.
    private func setUp() throws -> (folder: URL, job: TrainJob) {
        let folder = try NativeFixtures.folder()
        let (x, y) = try NativeFixtures.data(rows: 64, seed: 2)
        try HDF5File.atomicWrite(to: folder.appendingPathComponent("d.h5")) { file in
            try file.write(x.scalars, shape: x.shape, to: "/x")
            try file.write(y.scalars.map { UInt8($0) }, to: "/y")
        }
        let start = TrainingSnapshot(model: try NativeFixtures.model(seed: 3), optimizerState: OptimizerState(),
                                     iteratorState: nil, epoch: 0, stepInEpoch: 0, globalStep: 0, history: History())
        try NativeCheckpoint.save(start, optimizer: .sgd(learningRate: 0.05, momentum: 0.9, nesterov: false),
                                  to: folder.appendingPathComponent("start.h5"), loss: .binaryCrossentropy)
        var job = TrainJob(data: folder.appendingPathComponent("d.h5"), output: folder.appendingPathComponent("out.h5"))
        job.model = folder.appendingPathComponent("start.h5")
        job.epochs = 2
        job.batchSize = 8
        return (folder, job)
    }

    @Test func aKerasOutputHoldsTheSameWeightsAsTheNativeOne() throws {
        var (folder, job) = try setUp()
        let history = try job.run(progress: .quiet)   // loss and optimizer (SGD, momentum) from the file
        #expect(history.epochs == [0, 1])
        job.output = folder.appendingPathComponent("out.keras")
        try job.run(progress: .quiet)
        let native = try NativeCheckpoint.load(from: folder.appendingPathComponent("out.h5"))
        let keras = try KerasModelFile.load(folder.appendingPathComponent("out.keras"))
        #expect(NativeFixtures.bits(keras.model) == NativeFixtures.bits(native.snapshot.model))
        #expect(native.optimizer == .sgd(learningRate: 0.05, momentum: 0.9, nesterov: false))
        #expect(native.snapshot.optimizerState.iterations == 16)   // 2 epochs × 64/8 steps
        let start = try NativeCheckpoint.load(from: folder.appendingPathComponent("start.h5"))
        #expect(NativeFixtures.bits(native.snapshot.model) != NativeFixtures.bits(start.snapshot.model))
    }

    @Test func resumingAtTheTotalTrainsNothingMore() throws {
        let (folder, job) = try setUp()
        try job.run(progress: .quiet)
        var again = TrainJob(data: job.data, output: folder.appendingPathComponent("again.h5"))
        again.resume = folder.appendingPathComponent("out.h5")
        again.epochs = 2
        again.batchSize = 8
        try again.run(progress: .quiet)
        let first = try NativeCheckpoint.load(from: folder.appendingPathComponent("out.h5"))
        let second = try NativeCheckpoint.load(from: folder.appendingPathComponent("again.h5"))
        #expect(NativeFixtures.bits(second.snapshot.model) == NativeFixtures.bits(first.snapshot.model))
        #expect(second.snapshot.globalStep == 16)
    }

    @Test func badRequestsAreTypedErrorsThatSayWhatToDo() throws {
        var (_, job) = try setUp()
        job.resume = job.model
        job.optimizer = .adam
        #expect(throws: WorkflowError.self) { try job.run(progress: .quiet) }
        job.resume = nil
        job.optimizer = nil
        job.x = "/missing"
        do {
            try job.run(progress: .quiet)
            Issue.record("trained on a missing dataset")
        } catch {
            #expect(error.localizedDescription.contains("/missing"))
        }
    }

    /// A momentum without an optimizer kind would keep the file's optimizer (SGD, momentum
    /// 0.9 here) and silently train without the momentum asked for: refused, naming it.
    @Test func aMomentumForTheModelFilesOptimizerIsRefusedNotIgnored() throws {
        var (folder, job) = try setUp()
        job.momentum = 0.5
        let error = #expect(throws: WorkflowError.self) { try job.run(progress: .quiet) }
        guard case let .invalidSetting(file, setting, problem)? = error else {
            Issue.record("expected invalidSetting, got \(String(describing: error))"); return
        }
        #expect(file == folder.appendingPathComponent("start.h5").path && setting == .momentum)
        #expect(problem.contains("momentum applies to sgd and rmsprop") && problem.contains("(sgd) is used as saved"), "\(problem)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.h5").path))
        job.optimizer = .sgd
        try job.run(progress: .quiet)
        #expect(try NativeCheckpoint.load(from: folder.appendingPathComponent("out.h5")).optimizer
                == .sgd(learningRate: 0.01, momentum: 0.5, nesterov: false))
    }
}
