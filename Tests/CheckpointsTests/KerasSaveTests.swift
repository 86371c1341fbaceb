import Foundation
import HDF5
import Tensors
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

@Suite("Keras files written by Batchwise read back exactly")
struct KerasSaveTests {
    /// Where files for the Python checker go when `BATCHWISE_KERAS_EXPORT` names a directory
    /// (fixtures/keras-models/check_batchwise_files.py runs on them by hand).
    static var exportDirectory: URL? {
        ProcessInfo.processInfo.environment["BATCHWISE_KERAS_EXPORT"].map { URL(fileURLWithPath: $0) }
    }

    @Test(".keras round trip keeps architecture, names, weights, optimizer state and loss", arguments: KerasFixtures.models)
    func archiveRoundTrip(model name: String) throws {
        let directory = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try KerasModelFile.load(KerasFixtures.url("\(name).keras"))
        let url = (Self.exportDirectory ?? directory).appendingPathComponent("\(name).keras")
        try KerasModelFile.save(original.model, optimizer: original.optimizer, loss: original.loss, to: url)
        let back = try KerasModelFile.load(url)
        #expect(back.model.variables == original.model.variables)
        #expect(back.model.layers.map(\.name) == original.model.layers.map(\.name))
        #expect(back.model.layers.map(\.typeName) == original.model.layers.map(\.typeName))
        #expect(back.optimizerState == original.optimizerState)
        #expect(back.loss == original.loss)
        #expect(back.optimizer?.learningRate == original.optimizer?.learningRate)
        try expectPredictions(back.model, try KerasFixtures.reference(name), "Batchwise-written \(name).keras")
    }

    @Test(".weights.h5 round trip restores every variable and the optimizer state", arguments: KerasFixtures.models)
    func weightsRoundTrip(model name: String) throws {
        let directory = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try KerasModelFile.load(KerasFixtures.url("\(name).keras"))
        let url = (Self.exportDirectory ?? directory).appendingPathComponent("\(name).weights.h5")
        try KerasModelFile.save(original.model, optimizer: original.optimizer, to: url)
        var fresh = try KerasModelConfig.model(fromJSON: try KerasModelConfig.json(for: original.model), file: "json")
        #expect(fresh.variables != original.model.variables)
        try KerasModelFile.loadWeights(url, into: &fresh)
        #expect(fresh.variables == original.model.variables)
        let file = try HDF5File.open(at: url)
        defer { try? file.close() }
        if let optimizer = original.optimizer as? any KerasOptimizer {
            let state = try KerasWeightsReader(file: file, displayName: url.path).optimizerState(for: fresh, optimizer: optimizer)
            #expect(state?.state == original.optimizerState)
        } else {
            #expect(original.optimizerState == nil)
            #expect(try !file.exists("/optimizer"))
        }
    }

    @Test("the written layout matches Keras's: numbered vars per layer, name attributes, /optimizer/vars 0 and 1")
    func writtenLayout() throws {
        let directory = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try KerasModelFile.load(KerasFixtures.url("sequential_mlp.keras"))
        let url = directory.appendingPathComponent("m.weights.h5")
        try KerasModelFile.save(original.model, optimizer: original.optimizer, to: url)
        let ours = try HDF5File.open(at: url)
        let keras = try HDF5File.open(at: KerasFixtures.url("sequential_mlp.weights.h5"))
        defer { try? ours.close(); try? keras.close() }
        func datasets(_ file: HDF5File, _ group: String) throws -> [String: [Int]] {
            var out: [String: [Int]] = [:]
            for layer in try file.children(of: group) {
                for v in try file.children(of: "\(group)/\(layer.name)/vars") {
                    out["\(layer.name)/\(v.name)"] = try file.dataset(at: "\(group)/\(layer.name)/vars/\(v.name)").shape
                }
            }
            return out
        }
        #expect(try datasets(ours, "/layers") == datasets(keras, "/layers"))
        #expect(try ours.children(of: "/optimizer/vars").count == keras.children(of: "/optimizer/vars").count)
        #expect(try ours.read("/optimizer/vars/0", as: Int64.self).values == [8])
        #expect(try ours.readAttribute("name", of: "/layers/dense_1/vars", as: String.self) == "dense_1")
        #expect(try ours.readAttribute("name", of: "/optimizer/vars", as: String.self) == "adam")
    }

    @Test("a model built in Swift survives json(for:) → model(fromJSON:) with every option")
    func configRoundTrip() throws {
        let model = try Sequential(inputFeatures: 5, [
            Flatten(), Dense(units: 7, activation: .tanh, useBias: false),
            BatchNormalization(momentum: 0.8, epsilon: 1e-4, center: false, scale: true),
            Dropout(rate: 0.25), ActivationLayer(.sigmoid), ReLU(), Dense(units: 3), Softmax(),
        ], seed: 3, name: "custom")
        let back = try KerasModelConfig.model(fromJSON: try KerasModelConfig.json(for: model), file: "json")
        #expect(back.name == "custom" && back.inputFeatures == 5 && back.outputFeatures == 3)
        #expect(back.layers.map(\.name) == model.layers.map(\.name))
        #expect(back.layers.map(\.typeName) == model.layers.map(\.typeName))
        let dense = try #require(back.layers[1] as? Dense)
        #expect(dense.units == 7 && dense.activation == .tanh && !dense.useBias)
        let bn = try #require(back.layers[2] as? BatchNormalization)
        #expect(bn.momentum == 0.8 && bn.epsilon == 1e-4 && !bn.center && bn.scale)
        #expect((back.layers[3] as? Dropout)?.rate == 0.25)
        #expect((back.layers[4] as? ActivationLayer)?.activation == .sigmoid)
    }

    @Test("saving over an existing file replaces it whole and leaves no temporary files")
    func atomicReplace() throws {
        let directory = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let small = try KerasModelFile.load(KerasFixtures.url("no_affine_bn.keras")).model
        let big = try KerasModelFile.load(KerasFixtures.url("seed_model.keras")).model
        let url = directory.appendingPathComponent("m.keras")
        try KerasModelFile.save(big, to: url)
        try KerasModelFile.save(small, to: url)
        #expect(try KerasModelFile.load(url).model.variables == small.variables)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["m.keras"])
        #expect(throws: CheckpointError.self) { try KerasModelFile.save(small, to: directory.appendingPathComponent("m.bin")) }
    }
}

@Suite("A model trained in Swift, saved for Keras")
struct KerasSwiftTrainedExportTests {
    /// Every supported layer and option, trained three SGD-Nesterov steps so no variable is at its initial value.
    static func trainedModel() throws -> (Sequential, SGD, Tensor<Float>) {
        var model = try Sequential(inputFeatures: 5, [
            Flatten(), Dense(units: 7, activation: .tanh, useBias: false),
            BatchNormalization(momentum: 0.8, epsilon: 1e-4, center: false), Dropout(rate: 0.25),
            ActivationLayer(.sigmoid), Dense(units: 6, activation: .relu), ReLU(),
            BatchNormalization(), Dense(units: 3), Softmax(),
        ], seed: 5, name: "swift_mixed")
        var rng = SplitMix64(seed: 77)
        let x = try Tensor<Float>(shape: [16, 5], scalars: (0..<80).map { _ in rng.nextUniformFloat() * 4 - 2 })
        let y = try Tensor<Float>(shape: [16], scalars: (0..<16).map { Float($0 % 3) })
        var sgd = SGD(learningRate: 0.05, momentum: 0.9, nesterov: true)
        for _ in 0..<3 {
            let step = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
            try model.apply(step.stateUpdate)
            try sgd.apply(step.gradients, to: &model)
        }
        return (model, sgd, x)
    }

    @Test("save → load of a Swift-trained model is exact in both formats (and exports files for the Keras checker)")
    func swiftTrainedRoundTrip() throws {
        let (model, sgd, x) = try Self.trainedModel()
        let directory = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = KerasSaveTests.exportDirectory ?? directory
        let archive = target.appendingPathComponent("swift_mixed.keras")
        let weights = target.appendingPathComponent("swift_mixed.weights.h5")
        try KerasModelFile.save(model, optimizer: sgd, loss: .sparseCategoricalCrossentropy, to: archive)
        try KerasModelFile.save(model, optimizer: sgd, to: weights)
        let back = try KerasModelFile.load(archive)
        #expect(back.model.variables == model.variables)
        #expect(back.optimizerState == sgd.state && back.optimizerState?.iterations == 3)
        let backSGD = try #require(back.optimizer as? SGD)
        #expect(backSGD.nesterov && backSGD.momentum == 0.9 && backSGD.learningRate == 0.05)
        var fresh = try KerasModelConfig.model(fromJSON: try KerasModelConfig.json(for: model), file: "json")
        try KerasModelFile.loadWeights(weights, into: &fresh)
        #expect(fresh.variables == model.variables)
        // The reference the Python checker compares Keras's predictions with: Swift's own.
        try HDF5File.atomicWrite(to: target.appendingPathComponent("swift_mixed.io.h5")) { file in
            try file.write(x.scalars, shape: x.shape, to: "/inputs")
            let inference = try model(x, mode: .inference)
            let batch = try model.withBatchNormStatistics(.batch)(x, mode: .inference)
            try file.write(inference.scalars, shape: inference.shape, to: "/outputs_inference")
            try file.write(batch.scalars, shape: batch.shape, to: "/outputs_batch_statistics")
            try file.setAttribute("model_json", try KerasModelConfig.json(for: model))
        }
    }
}
