import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// LayerNormalization against Keras 3 (fixtures/layer_normalization, written by
/// make_layer_normalization.py): forward and gradients of the layer alone, for examples of
/// rank 1 and 2, and a Keras-saved model through every file format Batchwise reads and writes.
@Suite struct LayerNormalizationTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/layer_normalization")

    static func read(_ file: HDF5File, _ path: String) throws -> Tensor<Float> {
        let array = try file.read(path, as: Float.self)
        return try Tensor(shape: array.shape, scalars: array.values)
    }

    /// Every value within 1e-6 of Keras's (relative to the value once it exceeds 1).
    static func expectClose(_ a: Tensor<Float>, _ b: Tensor<Float>, _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.shape == b.shape, "\(what): shape \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
        guard a.shape == b.shape else { return }
        let worst = zip(a.scalars, b.scalars).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst <= 1e-6, "\(what): worst difference \(worst)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["default", "rank3_no_center", "no_scale"])
    func forwardAndGradientsMatchKeras(case name: String) throws {
        let file = try HDF5File.open(at: Self.directory.appendingPathComponent("layer_normalization.h5"))
        defer { try? file.close() }
        let group = "/\(name)"
        let input = try Self.read(file, "\(group)/input")
        let center = try file.readAttribute("center", of: group, as: Int64.self) != 0
        let scale = try file.readAttribute("scale", of: group, as: Int64.self) != 0
        var layer = LayerNormalization(epsilon: try file.readAttribute("epsilon", of: group, as: Double.self),
                                       center: center, scale: scale, name: "layer_normalization")
        #expect(try layer.build(inputShape: Array(input.shape.dropFirst()), seed: 0) == Array(input.shape.dropFirst()))
        for variable in layer.variables {
            try layer.setVariable(variable.name, to: try Self.read(file, "\(group)/\(variable.name)"))
        }
        for mode in [ExecutionMode.inference, .training] {
            let pass = try layer.forward(input, mode: mode)
            Self.expectClose(pass.output, try Self.read(file, "\(group)/output"), "\(name) output (\(mode))")
            #expect(pass.stateUpdate.isEmpty)
        }
        let pass = try layer.forward(input, mode: .training)
        var gradients = LayerGradients()
        let inputGradient = try layer.backward(try Self.read(file, "\(group)/upstream"), tape: pass.tape,
                                               gradients: &gradients, needsInputGradient: true)
        Self.expectClose(try #require(inputGradient), try Self.read(file, "\(group)/gradients/input"), "\(name) d input")
        #expect(gradients.names == layer.trainableVariableNames)
        for variableName in gradients.names {
            Self.expectClose(try #require(gradients[variableName]), try Self.read(file, "\(group)/gradients/\(variableName)"),
                             "\(name) d \(variableName)")
        }
    }

    static func modelReference() throws -> (inputs: Tensor<Float>, outputs: Tensor<Float>) {
        let file = try HDF5File.open(at: directory.appendingPathComponent("ln_model.io.h5"))
        defer { try? file.close() }
        return (try read(file, "/inputs"), try read(file, "/outputs"))
    }

    static func swiftModel() throws -> Sequential {
        try Sequential(inputFeatures: 4, [Dense(units: 6), LayerNormalization(), Dense(units: 3, activation: .softmax)],
                       name: "ln_model")
    }

    @Test func aKerasSavedModelLoadsFromKerasAndWeightsFiles() throws {
        let reference = try Self.modelReference()
        let loaded = try KerasModelFile.load(Self.directory.appendingPathComponent("ln_model.keras")).model
        #expect(loaded.layers.map(\.typeName) == ["Dense", "LayerNormalization", "Dense"])
        #expect(loaded.summary().contains("layer_normalization (LayerNormalization)"))
        Self.expectClose(try loaded(reference.inputs, mode: .inference), reference.outputs, ".keras predictions")

        var built = try Self.swiftModel()
        try KerasModelFile.loadWeights(Self.directory.appendingPathComponent("ln_model.weights.h5"), into: &built)
        #expect(built.variables == loaded.variables)
        #expect(built.variables.map(\.name).contains("layer_normalization/beta"))
    }

    @Test func aTrainedModelRoundTripsThroughKerasFilesAndNativeCheckpoints() throws {
        var model = try Sequential(inputFeatures: 4, [
            Dense(units: 6), LayerNormalization(epsilon: 1e-5, center: false), Dense(units: 3, activation: .softmax),
        ], seed: 3)
        let (x, _) = try Self.modelReference()
        let y = Tensor<Float>((0..<5).map { Float($0 % 3) })
        var sgd = SGD(learningRate: 0.1)
        let step = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        #expect(step.gradients.named.map(\.name) == model.trainableVariableNames)
        try sgd.apply(step.gradients, to: &model)
        let folder = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }

        let archive = folder.appendingPathComponent("ln.keras")
        try KerasModelFile.save(model, to: archive)
        let back = try KerasModelFile.load(archive).model
        #expect(back.variables == model.variables)
        let layer = try #require(back.layers[1] as? LayerNormalization)
        #expect(layer.epsilon == 1e-5 && !layer.center && layer.scale)

        let weights = folder.appendingPathComponent("ln.weights.h5")
        try KerasModelFile.save(model, to: weights)
        var fresh = try Sequential(inputFeatures: 4, [
            Dense(units: 6), LayerNormalization(epsilon: 1e-5, center: false), Dense(units: 3, activation: .softmax),
        ], seed: 99)
        try KerasModelFile.loadWeights(weights, into: &fresh)
        #expect(fresh.variables == model.variables)

        let checkpoint = folder.appendingPathComponent("ln.h5")
        let snapshot = TrainingSnapshot(model: model, optimizerState: sgd.state, iteratorState: nil,
                                        epoch: 0, stepInEpoch: 1, globalStep: 1, history: History())
        try NativeCheckpoint.save(snapshot, optimizer: .sgd(learningRate: 0.1, momentum: 0, nesterov: false), to: checkpoint)
        let restored = try NativeCheckpoint.load(from: checkpoint).snapshot.model
        #expect(restored.variables == model.variables)
        #expect(try restored(x, mode: .inference) == (try model(x, mode: .inference)))
    }

    @Test func kerasOptionsItCannotReproduceAreRefused() throws {
        let json = try KerasModelConfig.json(for: try Self.swiftModel())
        #expect(json.contains("\"class_name\":\"LayerNormalization\""))
        for (option, value) in [("rms_scaling", "true"), ("axis", "1")] {
            let original = option == "axis" ? "\"axis\":-1" : "\"rms_scaling\":false"
            let bad = json.replacingOccurrences(of: original, with: "\"\(option)\":\(value)")
            #expect(throws: CheckpointError.unsupportedLayer(file: "config.json", layer: "layer_normalization",
                                                             className: "LayerNormalization", option: option, value: value)) {
                try KerasModelConfig.model(fromJSON: bad, file: "config.json")
            }
        }
    }
}
