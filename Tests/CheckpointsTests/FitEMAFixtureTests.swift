import Foundation
import Testing
import Datasets
import HDF5
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Keras's `fit` ends by writing the optimizer's EMA over the model (`finalize_variable_values`)
/// when `use_ema` is on; fixtures/optimizers/fit_ema.h5 (make_fit_ema_fixtures.py, Keras 3.15.1)
/// holds the weights Keras's fit ends with and those just before that, for AdamW with EMA,
/// Adam with EMA overwritten every 4 steps (also mid-training), and SGD without EMA.
@Suite struct FitEMAFixtureTests {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/optimizers/fit_ema.h5")

    /// The fixture's tensor at `path`.
    static func tensor(_ file: HDF5File, _ path: String) throws -> Tensor<Float> { try OptimizerFixtureTests.tensor(file, path) }
    /// Within 1e-6 of Keras relative to the value's magnitude (absolute below magnitude 1).
    static func close(_ ours: Tensor<Float>, _ keras: Tensor<Float>) -> Bool { OptimizerFixtureTests.close(ours, keras) }

    @Test("fit ends with Keras's weights: the EMA written over them when use_ema is on",
          arguments: ["adamw_ema", "adam_ema_overwrite", "sgd_no_ema"])
    func fitEndsWithKerasWeights(name: String) throws {
        let file = try HDF5File.open(at: Self.url, mode: .readOnly)
        defer { try? file.close() }
        var model = try Sequential(inputFeatures: 3, [Dense(units: 4, activation: .sigmoid), Dense(units: 1, activation: .sigmoid)],
                                   seed: 0)
        let names = model.trainableVariableNames
        #expect(names == ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"])
        for variable in names { try model.setVariable(variable, to: try Self.tensor(file, "/initial/\(variable)")) }
        let group = "/fits/\(name)"
        let config = try OptimizerConfig(kerasJSON: try file.readAttribute("keras_config", of: group, as: String.self), file: name)
        let data = try Slices(try Self.tensor(file, "/x"), try Self.tensor(file, "/y")).batch(8)
        var trainer = Trainer(model: model, optimizer: config.makeOptimizer(), loss: .meanSquaredError)
        try trainer.fit(data, epochs: 2, progress: .quiet)
        #expect(trainer.optimizer.iterations == 6)
        for variable in names {
            let final = try Self.tensor(file, "\(group)/final/\(variable)")
            let ours = try #require(trainer.model.variables.first { $0.name == variable }).value
            #expect(Self.close(ours, final), "\(name) \(variable): \(ours.scalars) vs Keras \(final.scalars)")
            // The fixture tells the two apart: with EMA the last step's weights are not what fit returns.
            let trained = try Self.tensor(file, "\(group)/trained/\(variable)")
            #expect(Self.close(trained, final) == (name == "sgd_no_ema"), "\(name) \(variable)")
        }
    }

    @Test func anEMARunStoppedMidEpochResumesFromTheNativeFileToTheSameFinalModel() throws {
        var options = OptimizerOptions(learningRate: 0.01)
        options.weightDecay = 0.01
        options.clipnorm = 1
        options.useEMA = true
        options.emaMomentum = 0.8
        options.emaOverwriteFrequency = 5
        let config = try OptimizerConfig(AdamW(options: options))
        let data = try NativeFixtures.pipeline(rows: 64, repeating: false)   // 4 batches per epoch
        func trainer() throws -> Trainer {
            Trainer(model: try NativeFixtures.model(), optimizer: config.makeOptimizer(), loss: .binaryCrossentropy)
        }
        var straight = try trainer()
        try straight.fit(data, epochs: 3, progress: .quiet)
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("ema.h5")
        for stop in [2, 6, 7, 11] {
            var first = try trainer()
            try first.fit(data, epochs: 3, callbacks: [
                NativeStopResumeTests.StopAfterStep(globalStep: stop),
                CheckpointCallback(frequency: .everyEpoch) { try NativeCheckpoint.save($0, optimizer: config, to: url) },
            ], progress: .quiet)
            let loaded = try NativeCheckpoint.load(from: url)
            var resumed = Trainer(model: loaded.snapshot.model, optimizer: loaded.makeOptimizer(), loss: .binaryCrossentropy)
            try resumed.fit(data, epochs: 3, progress: .quiet, resumingFrom: loaded.snapshot)
            #expect(NativeFixtures.bits(resumed.model) == NativeFixtures.bits(straight.model), "stop at \(stop)")
            #expect(NativeFixtures.bits(resumed.optimizer.state) == NativeFixtures.bits(straight.optimizer.state), "stop at \(stop)")
        }
    }
}
