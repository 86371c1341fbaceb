import Foundation
import HDF5
import Tensors
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

@Suite("Keras files written by Keras load and predict like Keras")
struct KerasLoadTests {
    @Test("a .keras archive loads with its layer names and predicts both modes", arguments: KerasFixtures.models)
    func kerasArchive(model name: String) throws {
        let reference = try KerasFixtures.reference(name)
        let loaded = try KerasModelFile.load(KerasFixtures.url("\(name).keras"))
        #expect(loaded.format == .kerasArchive)
        #expect(loaded.model.layers.map(\.name) == reference.layerNames)
        #expect(loaded.lossName == (reference.loss.isEmpty ? nil : reference.loss))
        try expectPredictions(loaded.model, reference, "\(name).keras")
    }

    @Test("a legacy tf.keras .h5 loads and predicts both modes", arguments: KerasFixtures.models)
    func legacyModel(model name: String) throws {
        let reference = try KerasFixtures.reference(name)
        let loaded = try KerasModelFile.load(KerasFixtures.url("\(name).h5"))
        #expect(loaded.format == .legacyModel)
        #expect(loaded.model.layers.map(\.name) == reference.layerNames)
        try expectPredictions(loaded.model, reference, "\(name).h5")
    }

    @Test("Keras 3 .weights.h5 loads into the architecture of model.to_json()", arguments: KerasFixtures.models)
    func kerasWeights(model name: String) throws {
        let reference = try KerasFixtures.reference(name)
        var model = try KerasModelConfig.model(fromJSON: reference.modelJSON, file: "model_json")
        let fresh = try model(reference.inputs, mode: .inference)
        #expect(scaledError(fresh, reference.inference) > 1, "fresh weights must not already match")
        try KerasModelFile.loadWeights(KerasFixtures.url("\(name).weights.h5"), into: &model)
        try expectPredictions(model, reference, "\(name).weights.h5")
    }

    @Test("legacy weights-only .h5 loads into the architecture of model.to_json()", arguments: KerasFixtures.models)
    func legacyWeights(model name: String) throws {
        let reference = try KerasFixtures.reference(name)
        let url = KerasFixtures.url("\(name).legacy-weights.h5")
        #expect(try KerasModelFile.format(of: url) == .legacyWeights)
        var model = try KerasModelConfig.model(fromJSON: reference.modelJSON, file: "model_json")
        try KerasModelFile.loadWeights(url, into: &model)
        try expectPredictions(model, reference, "\(name).legacy-weights.h5")
    }

    @Test("Adam state from .keras equals Keras's /optimizer/vars and velocities are non-negative")
    func adamStateFromArchive() throws {
        let loaded = try KerasModelFile.load(KerasFixtures.url("seed_model.keras"))
        let state = try #require(loaded.optimizerState)
        #expect(state.iterations == 8)
        #expect(state.slots.count == 16)
        let adam = try #require(loaded.optimizer as? Adam)
        #expect(adam.iterations == 8)
        #expect(abs(adam.learningRate - 0.001) < 1e-9)
        for (key, value) in state.slots where key.hasSuffix("/velocity") {
            #expect(value.scalars.allSatisfy { $0 >= 0 }, "\(key) must be non-negative")
        }
        // Independent read of the raw layout: dense/kernel's slots are vars 6 and 7.
        let archive = try KerasArchive.read(KerasFixtures.url("seed_model.keras"))
        defer { try? FileManager.default.removeItem(at: archive.weightsURL) }
        let file = try HDF5File.open(at: archive.weightsURL)
        defer { try? file.close() }
        #expect(state.slots["dense/kernel/momentum"]?.scalars == (try file.read("/optimizer/vars/6", as: Float.self).values))
        #expect(state.slots["dense/kernel/velocity"]?.scalars == (try file.read("/optimizer/vars/7", as: Float.self).values))
    }

    @Test("legacy .h5 optimizer slots equal the Keras 3 ones they were copied from")
    func legacyOptimizerMatchesKeras3() throws {
        for name in ["seed_model", "softmax_classifier", "sequential_mlp"] {
            let legacy = try #require(try KerasModelFile.load(KerasFixtures.url("\(name).h5")).optimizerState)
            let keras3 = try #require(try KerasModelFile.load(KerasFixtures.url("\(name).keras")).optimizerState)
            #expect(legacy == keras3, "\(name)")
        }
    }

    @Test("SGD with momentum from softmax_classifier.keras keeps its options and one slot per variable")
    func sgdFromArchive() throws {
        let loaded = try KerasModelFile.load(KerasFixtures.url("softmax_classifier.keras"))
        let sgd = try #require(loaded.optimizer as? SGD)
        #expect(abs(sgd.momentum - 0.9) < 1e-6)
        #expect(abs(sgd.learningRate - 0.05) < 1e-7)
        #expect(loaded.optimizerState?.slots.keys.allSatisfy { $0.hasSuffix("/momentum") } == true)
        #expect(loaded.optimizerState?.slots.count == 6)
        #expect(loaded.loss == .sparseCategoricalCrossentropy)
    }

    @Test("an uncompiled model has no optimizer, loss or optimizer state")
    func uncompiled() throws {
        let loaded = try KerasModelFile.load(KerasFixtures.url("activations_mix.keras"))
        #expect(loaded.optimizer == nil && loaded.optimizerState == nil && loaded.lossName == nil)
        #expect(loaded.model.layers.map(\.typeName) == ["Flatten", "Dense", "ActivationLayer", "ReLU", "Dense", "Softmax"])
    }
}

@Suite("Committed Batchwise-written Keras files (checked by Keras, see batchwise-written-check.log)")
struct KerasWrittenSampleTests {
    @Test("the Batchwise-written seed_model .keras and .weights.h5 still load and predict like Keras")
    func writtenSamples() throws {
        let reference = try KerasFixtures.reference("seed_model")
        let loaded = try KerasModelFile.load(KerasFixtures.url("batchwise_written_seed_model.keras"))
        try expectPredictions(loaded.model, reference, "batchwise_written_seed_model.keras")
        let keras = try KerasModelFile.load(KerasFixtures.url("seed_model.keras"))
        #expect(loaded.optimizerState == keras.optimizerState)
        var model = try KerasModelConfig.model(fromJSON: reference.modelJSON, file: "json")
        try KerasModelFile.loadWeights(KerasFixtures.url("batchwise_written_seed_model.weights.h5"), into: &model)
        try expectPredictions(model, reference, "batchwise_written_seed_model.weights.h5")
    }
}
