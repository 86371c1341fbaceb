import Foundation
import Datasets
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Optimizer state (slots, iterations, EMA copies, accumulators, Nadam's scalar) and settings
/// (schedules, clipping, weight decay) survive native checkpoints and `.keras` files both ways,
/// and a mid-epoch stop resumes bit for bit.
@Suite struct OptimizerCheckpointTests {
    /// One optimizer of each type, each with a schedule or option that changes its state's meaning.
    static func optimizers() -> [any KerasOptimizer] {
        var ema = OptimizerOptions(learningRate: .schedule(CosineDecay(initialLearningRate: 0, decaySteps: 12,
                                                                       warmupTarget: 0.02, warmupSteps: 3)))
        ema.useEMA = true
        ema.emaMomentum = 0.9
        ema.emaOverwriteFrequency = 4
        var accumulate = OptimizerOptions(learningRate: .schedule(ExponentialDecay(initialLearningRate: 0.05, decaySteps: 3,
                                                                                   decayRate: 0.7)))
        accumulate.gradientAccumulationSteps = 3
        accumulate.clipnorm = 0.5
        var clipped = OptimizerOptions(learningRate: 0.01)
        clipped.globalClipnorm = 1
        clipped.weightDecay = 0.01
        return [
            SGD(options: accumulate, momentum: 0.9, nesterov: true), Adam(options: ema), AdamW(options: accumulate),
            RMSprop(options: ema, momentum: 0.5, centered: true), Adagrad(options: clipped), Nadam(options: accumulate),
            Lion(options: clipped),
        ]
    }

    static func trainer(_ optimizer: any Optimizer) throws -> Trainer {
        Trainer(model: try NativeFixtures.model(seed: 7), optimizer: optimizer, loss: .binaryCrossentropy)
    }

    @Test("a mid-epoch stop of Nadam with a schedule, EMA and accumulation resumes bit for bit", arguments: 5...8)
    func midEpochStopResumesExactly(stop: Int) throws {
        var options = OptimizerOptions(learningRate: .schedule(CosineDecay(initialLearningRate: 0.001, decaySteps: 10,
                                                                           warmupTarget: 0.02, warmupSteps: 3)))
        options.useEMA = true
        options.emaMomentum = 0.8
        options.emaOverwriteFrequency = 2
        options.gradientAccumulationSteps = 3
        let optimizer = Nadam(options: options)
        let data = try NativeFixtures.pipeline(rows: 64, repeating: false)   // 4 reshuffled batches per epoch
        var straight = try Self.trainer(optimizer)
        let straightHistory = try straight.fit(data, epochs: 3, progress: .quiet)
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = try CheckpointDirectory(url: folder, keepLast: 2, optimizer: try OptimizerConfig(optimizer),
                                                loss: .binaryCrossentropy, durability: .processCrashSafe)
        var first = try Self.trainer(optimizer)
        try first.fit(data, epochs: 3, callbacks: [NativeStopResumeTests.StopAfterStep(globalStep: stop), directory.callback(frequency: .everyEpoch)],
                      progress: .quiet)
        let latest = try #require(directory.latest)
        let loaded = try NativeCheckpoint.load(from: latest, into: try NativeFixtures.model(seed: 1234))
        #expect(loaded.snapshot.globalStep == stop)
        #expect(loaded.optimizer == (try OptimizerConfig(optimizer)))
        #expect(loaded.snapshot.optimizerState.slots.keys.contains { $0.hasSuffix("/gradient_accumulator") })
        #expect(loaded.snapshot.optimizerState.slots.keys.contains { $0.hasSuffix("/average") })
        var resumed = Trainer(model: loaded.snapshot.model, optimizer: loaded.makeOptimizer(), loss: .binaryCrossentropy)
        let history = try resumed.fit(data, epochs: 3, progress: .quiet, resumingFrom: loaded.snapshot)
        #expect(NativeFixtures.bits(resumed.model) == NativeFixtures.bits(straight.model), "stop at \(stop)")
        #expect(NativeFixtures.bits(resumed.optimizer.state) == NativeFixtures.bits(straight.optimizer.state))
        #expect(resumed.optimizer.state.iterations == straight.optimizer.state.iterations)
        #expect(resumed.optimizer.learningRate == straight.optimizer.learningRate)
        #expect(history == straightHistory, "stop at \(stop)")
    }

    /// Trains 5 steps (so accumulators hold a partial sum) and returns the trainer.
    static func trained(_ optimizer: any KerasOptimizer) throws -> Trainer {
        var trainer = try trainer(optimizer)
        try trainer.fit(try NativeFixtures.pipeline(rows: 80, repeating: false), epochs: 1, progress: .quiet)
        return trainer
    }

    /// Saves the trainer's model and optimizer as a native checkpoint after its 5 steps.
    static func save(_ trainer: Trainer, to url: URL) throws {
        let snapshot = TrainingSnapshot(model: trainer.model, optimizerState: trainer.optimizer.state, iteratorState: nil,
                                        epoch: 1, stepInEpoch: 0, globalStep: 5, history: History(), runningSums: [:],
                                        optimizerIdentity: trainer.optimizer.identity)
        try NativeCheckpoint.save(snapshot, optimizer: try OptimizerConfig(trainer.optimizer), to: url)
    }

    @Test("every optimizer's settings and state round-trip through a native checkpoint", arguments: optimizers().indices)
    func nativeRoundTrip(index: Int) throws {
        let optimizer = Self.optimizers()[index]
        let trainer = try Self.trained(optimizer)
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("c.h5")
        try Self.save(trainer, to: url)
        let loaded = try NativeCheckpoint.load(from: url, into: try NativeFixtures.model(seed: 99))
        #expect(loaded.optimizer == (try OptimizerConfig(optimizer)), "\(type(of: optimizer))")
        #expect(loaded.optimizer.identity == optimizer.identity)
        let restored = loaded.makeOptimizer()
        #expect(restored.state == trainer.optimizer.state)
        #expect(restored.learningRate == trainer.optimizer.learningRate)
    }

    @Test("every optimizer's settings and state round-trip through a .keras file", arguments: optimizers().indices)
    func kerasRoundTrip(index: Int) throws {
        let optimizer = Self.optimizers()[index]
        let trainer = try Self.trained(optimizer)
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // With BATCHWISE_KERAS_EXPORT set, the files are kept for fixtures/optimizers/check_batchwise_optimizers.py.
        let url = (KerasSaveTests.exportDirectory ?? folder).appendingPathComponent("optimizer_\(type(of: optimizer).kerasName).keras")
        try KerasModelFile.save(trainer.model, optimizer: trainer.optimizer, loss: .binaryCrossentropy, to: url)
        let loaded = try KerasModelFile.load(url)
        #expect(loaded.unsupportedOptimizer == nil)
        let back = try #require(loaded.optimizer)
        #expect(back.identity == optimizer.identity, "\(type(of: optimizer))")
        #expect(try OptimizerConfig(back) == OptimizerConfig(optimizer))
        #expect(back.state == trainer.optimizer.state)
        #expect(back.learningRate == trainer.optimizer.learningRate)
    }

    static let stateFixture = OptimizerFixtureTests.url.deletingLastPathComponent().appendingPathComponent("rmsprop_state.keras")

    @Test("a Keras-written .keras with RMSprop, a schedule, EMA, accumulation and clipping loads with all its state and is written back identically")
    func kerasWrittenStateLoadsAndWritesBack() throws {
        let loaded = try KerasModelFile.load(Self.stateFixture)
        let optimizer = try #require(loaded.optimizer as? RMSprop)
        #expect(optimizer.momentum == 0.5 && optimizer.centered && optimizer.options.useEMA
                && optimizer.options.gradientAccumulationSteps == 2 && optimizer.options.clipnorm == 1)
        guard case .schedule(let schedule) = optimizer.options.learningRate else {
            Issue.record("no schedule")
            return
        }
        #expect(schedule is CosineDecay)
        #expect(optimizer.iterations == 5)
        let state = try #require(loaded.optimizerState)
        // 4 trainable variables × (average, accumulator, velocity, momentum, average_gradient).
        #expect(state.slots.count == 20)
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("again.keras")
        try KerasModelFile.save(loaded.model, optimizer: optimizer, loss: loaded.loss, to: url)
        let again = try KerasModelFile.load(url)
        #expect(again.optimizerState == state)
        #expect(try OptimizerConfig(#require(again.optimizer)) == OptimizerConfig(optimizer))
    }

    @Test("an optimizer, schedule or option Batchwise lacks is a typed error naming it and its path")
    func unsupportedOptimizersAreNamed() throws {
        func failure(_ json: String) -> CheckpointError? {
            do {
                _ = try OptimizerConfig(kerasJSON: json, file: "c.json")
                return nil
            } catch { return error as? CheckpointError }
        }
        #expect(failure(#"{"class_name": "Adafactor", "config": {}}"#)
                == .unsupportedOptimizer(file: "c.json", path: "$.class_name", className: "Adafactor", option: nil, value: nil))
        #expect(failure(#"{"class_name": "Adam", "config": {"amsgrad": true}}"#)
                == .unsupportedOptimizer(file: "c.json", path: "$.config.amsgrad", className: "Adam", option: "amsgrad", value: "true"))
        #expect(failure(#"{"class_name": "SGD", "config": {"loss_scale_factor": 128}}"#)
                == .unsupportedOptimizer(file: "c.json", path: "$.config.loss_scale_factor", className: "SGD",
                                         option: "loss_scale_factor", value: "128"))
        #expect(failure(#"{"class_name": "SGD", "config": {"learning_rate": {"class_name": "MyDecay", "config": {}}}}"#)
                == .unsupportedOptimizer(file: "c.json", path: "$.config.learning_rate.class_name", className: "MyDecay",
                                         option: nil, value: nil))
        let both = failure(#"{"class_name": "SGD", "config": {"clipnorm": 1, "clipvalue": 2}}"#)
        #expect(both?.localizedDescription.contains("$.config.clipvalue") == true)
    }

    @Test("a native checkpoint naming an optimizer or option Batchwise lacks is a typed error naming the attribute")
    func unsupportedOptimizerInACheckpoint() throws {
        let trainer = try Self.trained(Lion())
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("c.h5")
        try Self.save(trainer, to: url)
        func edited(_ attribute: String, _ value: some HDF5AttributeValue) throws -> CheckpointError? {
            let copy = folder.appendingPathComponent("\(attribute).h5")
            try? FileManager.default.removeItem(at: copy)
            try FileManager.default.copyItem(at: url, to: copy)
            let file = try HDF5File.open(at: copy, mode: .readWrite)
            try file.setAttribute(attribute, value, on: "/optimizer")
            try file.close()
            do {
                _ = try NativeCheckpoint.load(from: copy, into: try NativeFixtures.model())
                return nil
            } catch { return error as? CheckpointError }
        }
        let kindError = try edited("kind", "adafactor")
        #expect(kindError == .unsupportedOptimizer(file: folder.appendingPathComponent("kind.h5").path, path: "/optimizer@kind",
                                                  className: "adafactor", option: nil, value: nil))
        let optionError = try edited("loss_scale_factor", 128.0)
        #expect(optionError?.localizedDescription.contains("/optimizer@loss_scale_factor") == true)
    }

    @Test("a .keras whose optimizer names an unsupported class still loads its model and says why it has no optimizer")
    func unsupportedOptimizerInAFile() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("m.keras")
        let model = try NativeFixtures.model()
        try KerasModelFile.save(model, optimizer: Adam(), loss: .binaryCrossentropy, to: url)
        let edited = folder.appendingPathComponent("edited.keras")
        try KerasTestEditing.rewriteConfig(of: url, to: edited) { $0.replacingOccurrences(of: "\"amsgrad\":false", with: "\"amsgrad\":true") }
        let loaded = try KerasModelFile.load(edited)
        #expect(loaded.optimizer == nil)
        #expect(loaded.unsupportedOptimizer?.localizedDescription.contains("compile_config.optimizer.config.amsgrad") == true)
    }

    @Test("a .keras whose optimizer state does not fit its variables names the variable")
    func mismatchedStateNamesTheVariable() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try Self.trained(RMSprop(momentum: 0.5))
        let url = folder.appendingPathComponent("m.keras")
        try KerasModelFile.save(trainer.model, optimizer: trainer.optimizer, loss: .binaryCrossentropy, to: url)
        // Momentum 0 keeps one slot group instead of two: the stored variables no longer fit.
        let edited = folder.appendingPathComponent("edited.keras")
        try KerasTestEditing.rewriteConfig(of: url, to: edited) { $0.replacingOccurrences(of: "\"momentum\":0.5", with: "\"momentum\":0.0") }
        #expect { try KerasModelFile.load(edited) } throws: { error in
            let text = (error as? CheckpointError)?.localizedDescription ?? ""
            return text.contains("/optimizer/vars") && text.contains("RMSprop")
        }
    }
}

/// Rewrites the config.json of a `.keras` archive, keeping its weights.
enum KerasTestEditing {
    static func rewriteConfig(of url: URL, to output: URL, _ edit: (String) -> String) throws {
        let contents = try KerasArchive.read(url)
        defer { try? FileManager.default.removeItem(at: contents.weightsURL) }
        let edited = edit(contents.config)
        #expect(edited != contents.config, "the edit changed nothing")
        try KerasArchive.write(to: output, config: edited, metadata: "{}") {
            try FileManager.default.copyItem(at: contents.weightsURL, to: $0)
        }
    }
}
