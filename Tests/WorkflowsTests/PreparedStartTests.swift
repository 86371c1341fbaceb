import Foundation
import Testing
import Training
@testable import Checkpoints
@testable import Workflows
import CheckpointsTestSupport

/// `PreparedStart` is how `batchwise train` hands the child's reading of the user's files to
/// the training process; everything a start holds must survive the trip, bit for bit.
@Suite struct PreparedStartTests {
    /// A mid-run checkpoint (pipeline position, history, Adam state) and a Keras file.
    static func sources(in folder: URL) throws -> (checkpoint: URL, keras: URL) {
        var trainer = try NativeFixtures.trainer()
        let box = SnapshotBox()
        _ = try trainer.fit(try NativeFixtures.pipeline(repeating: false), epochs: 2,
                            callbacks: [CheckpointCallback(frequency: .everySteps(5)) { box.append($0) }], progress: .quiet)
        let last = box.values.last
        let checkpoint = folder.appendingPathComponent("run.h5")
        try NativeCheckpoint.save(try #require(last), optimizer: OptimizerConfig(Adam(learningRate: 0.01)), to: checkpoint,
                                  loss: .binaryCrossentropy)
        let keras = folder.appendingPathComponent("model.keras")
        try KerasModelFile.save(try NativeFixtures.model(seed: 3), to: keras)     // no optimizer, no loss
        return (checkpoint, keras)
    }

    @Test func aResumeStartSurvivesTheCopyBitForBit() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (checkpoint, _) = try Self.sources(in: folder)
        var job = TrainJob(data: folder, output: folder)
        job.resume = checkpoint
        let original = try job.loadStartingPoint().start
        let copy = folder.appendingPathComponent("start.h5")
        try job.loadStartingPoint().write(to: copy)
        let read = try PreparedStart.read(from: copy).start
        let snapshot = try #require(read.snapshot)
        let expected = try #require(original.snapshot)
        #expect(NativeFixtures.bits(snapshot.model) == NativeFixtures.bits(expected.model))
        #expect(NativeFixtures.bits(snapshot.optimizerState) == NativeFixtures.bits(expected.optimizerState))
        #expect(snapshot.optimizerState.iterations == expected.optimizerState.iterations)
        #expect(snapshot.iteratorState == expected.iteratorState && snapshot.iteratorState != nil)
        #expect(snapshot.epoch == expected.epoch && snapshot.stepInEpoch == expected.stepInEpoch)
        #expect(snapshot.globalStep == expected.globalStep && snapshot.history == expected.history)
        #expect(snapshot.runningSums == expected.runningSums)
        #expect(read.fileOptimizer == original.fileOptimizer && read.loss == original.loss)
        // Dropout's generator state is part of the model: the next masks must agree too.
        #expect(snapshot.model.layers.compactMap { ($0 as? Dropout)?.rngState } ==
                expected.model.layers.compactMap { ($0 as? Dropout)?.rngState })
    }

    @Test func aFineTuningStartKeepsNoPositionAndNoInventedOptimizer() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (_, keras) = try Self.sources(in: folder)
        var job = TrainJob(data: folder, output: folder)
        job.model = keras
        let original = try job.loadStartingPoint().start
        let copy = folder.appendingPathComponent("start.h5")
        try job.loadStartingPoint().write(to: copy)
        let read = try PreparedStart.read(from: copy).start
        #expect(read.snapshot == nil, "a fine-tuning start must not turn into a resume")
        #expect(read.fileOptimizer == nil && original.fileOptimizer == nil, "the placeholder optimizer must not leak out")
        #expect(read.loss == original.loss)
        #expect(NativeFixtures.bits(read.model) == NativeFixtures.bits(original.model))
        #expect(read.model.layers.map(\.name) == original.model.layers.map(\.name))
    }

    @Test func anOrdinaryCheckpointIsNotAPreparedStart() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (checkpoint, _) = try Self.sources(in: folder)
        #expect(throws: CheckpointError.self) { try PreparedStart.read(from: checkpoint) }
    }
}
