import Foundation
import Testing
import Tensors
import Training
@testable import Checkpoints
import Workflows
import CheckpointsTestSupport

/// A model file whose optimizer keeps an EMA (`use_ema`) trains to the model Keras's `fit`
/// ends with — the averages written over the weights — and that model is what `.keras` and
/// native `.h5` outputs both hold; the `--checkpoint` file written during training keeps the
/// training weights.
@Suite struct TrainJobEMATests {
    @Test func bothOutputsHoldTheAveragesAndTheCheckpointTheTrainingWeights() throws {
        let folder = try NativeFixtures.trainingFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var options = OptimizerOptions(learningRate: 0.01)
        options.useEMA = true
        options.emaMomentum = 0.9
        let model = folder.appendingPathComponent("ema.keras")
        try KerasModelFile.save(try NativeFixtures.model(seed: 3), optimizer: Adam(options: options), loss: .binaryCrossentropy,
                                to: model)
        var outputs: [Sequential] = []
        for output in ["out.keras", "out.h5"] {
            var job = TrainJob(data: folder.appendingPathComponent("d.h5"), output: folder.appendingPathComponent(output))
            job.model = model
            job.epochs = 2
            job.batchSize = 16
            job.seed = 4
            job.checkpoint = folder.appendingPathComponent("run.h5")
            let trained = try job.runReturningModel(progress: .quiet).model
            outputs.append(trained)
        }
        let keras = try KerasModelFile.load(folder.appendingPathComponent("out.keras"))
        let native = try NativeCheckpoint.load(from: folder.appendingPathComponent("out.h5"))
        let checkpoint = try NativeCheckpoint.load(from: folder.appendingPathComponent("run.h5"))
        #expect(NativeFixtures.bits(keras.model) == NativeFixtures.bits(outputs[0]))
        #expect(NativeFixtures.bits(native.snapshot.model) == NativeFixtures.bits(outputs[1]))
        #expect(NativeFixtures.bits(outputs[0]) == NativeFixtures.bits(outputs[1]))
        for variable in native.snapshot.model.trainableVariables {
            let average = try #require(native.snapshot.optimizerState.slots["\(variable.name)/average"])
            #expect(variable.value.scalars == average.scalars, "\(variable.name)")
            let training = try checkpoint.snapshot.model.variable(variable.name)
            #expect(training.scalars != average.scalars, "\(variable.name): the checkpoint keeps the training weights")
        }
    }
}
