import Foundation
import Testing
import Tensors
import Training
@testable import Checkpoints
import Workflows
import CheckpointsTestSupport

/// `predict` takes any model file: the registry must tell native checkpoints from Keras files.
@Suite struct ModelFilesTests {
    @Test func aNativeCheckpointLoadsThroughTheModelFileRegistry() throws {
        var trainer = try NativeFixtures.trainer()
        try trainer.fit(try NativeFixtures.pipeline(repeating: true), epochs: 1, stepsPerEpoch: 5, progress: .quiet)
        let url = try NativeFixtures.folder().appendingPathComponent("model.h5")
        let snapshot = TrainingSnapshot(model: trainer.model, optimizerState: trainer.optimizer.state,
                                        iteratorState: nil, epoch: 1, stepInEpoch: 0, globalStep: 5, history: History())
        try NativeCheckpoint.save(snapshot, optimizer: try OptimizerConfig(trainer.optimizer), to: url)

        #expect(try NativeCheckpointModelLoader.canLoad(url))
        let loaded = try ModelFiles.loadModel(url)
        let (x, _) = try NativeFixtures.data(rows: 20, seed: 3)
        #expect(try loaded(x, mode: .inference) == (try trainer.model(x, mode: .inference)))
        let error = #expect(throws: CheckpointError.self) { try KerasModelFile.format(of: url) }
        #expect(error?.localizedDescription.contains(url.path) == true, "\(String(describing: error?.localizedDescription))")
    }

    @Test func aKerasFileIsNotTakenForANativeCheckpoint() throws {
        let keras = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/keras-models/seed_model.h5")
        #expect(try !NativeCheckpointModelLoader.canLoad(keras))
        #expect(try KerasModelFileLoader.canLoad(keras))
    }
}
