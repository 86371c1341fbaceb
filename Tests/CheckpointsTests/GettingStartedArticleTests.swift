import Checkpoints
import Datasets
import Foundation
import Tensors
import Testing
import Training

/// The code of the DocC article "Getting started" (Sources/Batchwise/Batchwise.docc/
/// GettingStarted.md), step by step and verbatim apart from the checks, so the article
/// cannot drift from the API.
@Suite struct GettingStartedArticleTests {
    @Test func theArticlesPipelineTrainsSavesAndResumesBitForBit() throws {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("getting-started-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        // Step 1: data.
        var rng = SplitMix64(seed: 18)
        let xs = (0..<1_000).map { _ in Float(rng.nextNormal()) }
        let x = try Tensor<Float>(shape: [1_000, 1], scalars: xs)
        let y = try Tensor<Float>(shape: [1_000, 1], scalars: xs.map { $0 > 0 ? 1 : 0 })

        // Step 2: the seed pipeline.
        let train = try Slices(x, y)
            .shuffle(bufferSize: 1_000, seed: 18)
            .repeat()
            .batch(32)
            .prefetch(2)
        let stored: any Dataset<Trainer.Batch> = train
        let erased: AnyDataset<Trainer.Batch> = train.eraseToAnyDataset()

        var iterator = train.makeIterator()
        _ = try iterator.next()
        let saved = try iterator.state.encoded()            // a few hundred bytes of JSON
        var resumed = try train.makeIterator(resumingFrom: IteratorState(encoded: saved))
        // resumed.next() and iterator.next() now return the same batch
        let (a, b) = (try #require(try resumed.next()), try #require(try iterator.next()))
        #expect(a.0 == b.0 && a.1 == b.1)
        #expect(stored.cardinality == .infinite && erased.cardinality == .infinite)

        // Step 3: training, with a checkpoint after every epoch.
        let model = try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 8, activation: .sigmoid),
            BatchNormalization(), Dense(units: 1, activation: .sigmoid),
        ], seed: 18)
        var trainer = Trainer(model: model, optimizer: Adam(learningRate: 0.01), loss: .binaryCrossentropy)
        let checkpoints = try CheckpointDirectory(
            url: folder, keepLast: 4, optimizer: try OptimizerConfig(trainer.optimizer),
            loss: .binaryCrossentropy)
        let history = try trainer.fit(
            train, epochs: 4, stepsPerEpoch: 31,
            callbacks: [checkpoints.callback(frequency: .everyEpoch)], progress: .quiet)
        print(history["loss"] ?? [])                        // one mean loss per epoch

        // Step 4: inference, in an explicit mode.
        let p = try trainer.model(x, mode: .inference)       // [1000, 1] probabilities
        let accuracy = try trainer.evaluate(Slices(x, y).batch(100))["accuracy"]
        let losses = try #require(history["loss"])
        #expect(losses.count == 4 && losses[3] < losses[0])
        #expect(p.shape == [1_000, 1])
        #expect(try #require(accuracy) > 0.9, "accuracy \(accuracy ?? -1)")

        // Step 5: saving.
        try KerasModelFile.save(trainer.model, optimizer: trainer.optimizer, loss: .binaryCrossentropy,
                                to: folder.appendingPathComponent("seed.keras"))
        print(try checkpoints.checkpoints().map(\.url.lastPathComponent))
        // ["ckpt-31.h5", "ckpt-62.h5", "ckpt-93.h5", "ckpt-124.h5"]
        #expect(try checkpoints.checkpoints().map(\.url.lastPathComponent)
                == ["ckpt-31.h5", "ckpt-62.h5", "ckpt-93.h5", "ckpt-124.h5"])

        // Step 6: loading and resuming.
        let afterTwoEpochs = try NativeCheckpoint.load(from: checkpoints.checkpoints()[1].url)
        var resumedTrainer = Trainer(model: afterTwoEpochs.snapshot.model,
                                     optimizer: afterTwoEpochs.makeOptimizer(), loss: .binaryCrossentropy)
        let resumedHistory = try resumedTrainer.fit(
            train, epochs: 4, stepsPerEpoch: 31, progress: .quiet,
            resumingFrom: afterTwoEpochs.snapshot)
        // resumedHistory == history, and the weights are equal bit for bit
        #expect(resumedHistory == history)
        #expect(resumedTrainer.model.variables.map(\.value) == trainer.model.variables.map(\.value))

        let keras = try KerasModelFile.load(folder.appendingPathComponent("seed.keras"))
        let q = try keras.model(x, mode: .inference)         // equal to p
        #expect(q == p)
    }
}
