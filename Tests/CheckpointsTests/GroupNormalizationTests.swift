import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// GroupNormalization against Keras 3 (fixtures/group_normalization, written by
/// make_group_normalization.py): forward and gradients of the layer alone, for rank-2 and
/// rank-4 (NHWC) inputs, one group, several groups and `groups: -1` (instance
/// normalization), and a Keras-saved model through every file format Batchwise reads and writes.
@Suite struct GroupNormalizationTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/group_normalization")

    // The fixture readers and the 1e-6 comparison are LayerNormalization's (same fixture layout).
    static func read(_ file: HDF5File, _ path: String) throws -> Tensor<Float> { try LayerNormalizationTests.read(file, path) }

    static func expectClose(_ a: Tensor<Float>, _ b: Tensor<Float>, _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        LayerNormalizationTests.expectClose(a, b, what, sourceLocation: sourceLocation)
    }

    @Test(arguments: ["rank2", "rank2_one_group", "rank4", "rank4_instance", "rank4_no_scale"])
    func forwardAndGradientsMatchKeras(case name: String) throws {
        let file = try HDF5File.open(at: Self.directory.appendingPathComponent("group_normalization.h5"))
        defer { try? file.close() }
        let group = "/\(name)"
        let input = try Self.read(file, "\(group)/input")
        let groups = Int(try file.readAttribute("groups", of: group, as: Int64.self))
        let center = try file.readAttribute("center", of: group, as: Int64.self) != 0
        let scale = try file.readAttribute("scale", of: group, as: Int64.self) != 0
        var layer = GroupNormalization(groups: groups, epsilon: try file.readAttribute("epsilon", of: group, as: Double.self),
                                       center: center, scale: scale, name: "group_normalization")
        let exampleShape = Array(input.shape.dropFirst())
        #expect(try layer.build(inputShape: exampleShape, seed: 0) == exampleShape)
        #expect(layer.groups == (groups == -1 ? exampleShape.last! : groups))
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
        var parametersOnly = LayerGradients()
        #expect(try layer.backward(try Self.read(file, "\(group)/upstream"), tape: pass.tape,
                                   gradients: &parametersOnly, needsInputGradient: false) == nil)
        #expect(parametersOnly == gradients)
    }

    @Test func groupsThatDoNotDivideTheChannelsAreRefusedNamingTheLayer() throws {
        #expect(throws: TrainingError.invalidArgument(layer: "gn", message: "groups (4) must divide the 6 channels")) {
            try Sequential(inputShape: [2, 6], [GroupNormalization(groups: 4, name: "gn")])
        }
        #expect(throws: TrainingError.invalidArgument(layer: "gn", message: "groups (8) must divide the 6 channels")) {
            try Sequential(inputFeatures: 6, [GroupNormalization(groups: 8, name: "gn")])
        }
        #expect(throws: TrainingError.invalidArgument(layer: "gn", message: "groups must be positive or -1, got 0")) {
            try Sequential(inputFeatures: 6, [GroupNormalization(groups: 0, name: "gn")])
        }
        var unbuilt = GroupNormalization(groups: 2, name: "gn")
        #expect(throws: TrainingError.self) { try unbuilt.forward(Tensor(zeros: [1, 4]), mode: .inference) }
        _ = try unbuilt.build(inputShape: [4], seed: 0)
        #expect(throws: TrainingError.shapeMismatch(layer: "gn", expected: [-1, 4], found: [1, 6])) {
            try unbuilt.forward(Tensor(zeros: [1, 6]), mode: .inference)
        }
    }

    static func modelReference() throws -> (inputs: Tensor<Float>, outputs: Tensor<Float>) {
        let file = try HDF5File.open(at: directory.appendingPathComponent("gn_model.io.h5"))
        defer { try? file.close() }
        return (try read(file, "/inputs"), try read(file, "/outputs"))
    }

    static func swiftModel(groups: Int = 3, seed: UInt64 = 0) throws -> Sequential {
        try Sequential(inputFeatures: 4, [
            Dense(units: 6), GroupNormalization(groups: groups), Dense(units: 3, activation: .softmax),
        ], seed: seed, name: "gn_model")
    }

    @Test func aKerasSavedModelLoadsFromKerasAndWeightsFiles() throws {
        let reference = try Self.modelReference()
        let loaded = try KerasModelFile.load(Self.directory.appendingPathComponent("gn_model.keras")).model
        #expect(loaded.layers.map(\.typeName) == ["Dense", "GroupNormalization", "Dense"])
        #expect(loaded.summary().contains("group_normalization (GroupNormalization)"))
        #expect((loaded.layers[1] as? GroupNormalization)?.groups == 3)
        Self.expectClose(try loaded(reference.inputs, mode: .inference), reference.outputs, ".keras predictions")

        var built = try Self.swiftModel()
        try KerasModelFile.loadWeights(Self.directory.appendingPathComponent("gn_model.weights.h5"), into: &built)
        #expect(built.variables == loaded.variables)
        #expect(built.variables.map(\.name).contains("group_normalization/beta"))
    }

    @Test func aTrainedModelRoundTripsThroughKerasFilesAndNativeCheckpoints() throws {
        func architecture() -> [any Layer] {
            [Dense(units: 6), GroupNormalization(groups: -1, epsilon: 1e-5, center: false), Dense(units: 3, activation: .softmax)]
        }
        var model = try Sequential(inputFeatures: 4, architecture(), seed: 3)
        let (x, _) = try Self.modelReference()
        let y = Tensor<Float>((0..<5).map { Float($0 % 3) })
        var sgd = SGD(learningRate: 0.1)
        let step = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        #expect(step.gradients.named.map(\.name) == model.trainableVariableNames)
        try sgd.apply(step.gradients, to: &model)
        let folder = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }

        let archive = folder.appendingPathComponent("gn.keras")
        try KerasModelFile.save(model, to: archive)
        let back = try KerasModelFile.load(archive).model
        #expect(back.variables == model.variables)
        let layer = try #require(back.layers[1] as? GroupNormalization)
        #expect(layer.groups == 6 && layer.epsilon == 1e-5 && !layer.center && layer.scale)

        let weights = folder.appendingPathComponent("gn.weights.h5")
        try KerasModelFile.save(model, to: weights)
        var fresh = try Sequential(inputFeatures: 4, architecture(), seed: 99)
        try KerasModelFile.loadWeights(weights, into: &fresh)
        #expect(fresh.variables == model.variables)

        let checkpoint = folder.appendingPathComponent("gn.h5")
        let snapshot = TrainingSnapshot(model: model, optimizerState: sgd.state, iteratorState: nil,
                                        epoch: 0, stepInEpoch: 1, globalStep: 1, history: History())
        try NativeCheckpoint.save(snapshot, optimizer: .sgd(learningRate: 0.1, momentum: 0, nesterov: false), to: checkpoint)
        let restored = try NativeCheckpoint.load(from: checkpoint).snapshot.model
        #expect(restored.variables == model.variables)
        #expect((restored.layers[1] as? GroupNormalization)?.groups == 6)
        #expect(try restored(x, mode: .inference) == (try model(x, mode: .inference)))
    }

    @Test func kerasOptionsItCannotReproduceAreRefused() throws {
        let json = try KerasModelConfig.json(for: try Self.swiftModel())
        #expect(json.contains("\"class_name\":\"GroupNormalization\""))
        #expect(json.contains("\"groups\":3"))
        for (option, original, value) in [("axis", "\"axis\":-1", "1"), ("gamma_regularizer", "\"gamma_regularizer\":null", "1")] {
            let bad = json.replacingOccurrences(of: original, with: "\"\(option)\":\(value)")
            #expect(throws: CheckpointError.unsupportedLayer(file: "config.json", layer: "group_normalization",
                                                             className: "GroupNormalization", option: option, value: value)) {
                try KerasModelConfig.model(fromJSON: bad, file: "config.json")
            }
        }
        for (groups, message) in [("0", "groups 0 must be a positive integer or -1"), ("4", "groups (4) must divide the 6 channels")] {
            let bad = json.replacingOccurrences(of: "\"groups\":3", with: "\"groups\":\(groups)")
            do {
                _ = try KerasModelConfig.model(fromJSON: bad, file: "config.json")
                Issue.record("groups \(groups) was accepted")
            } catch let CheckpointError.invalidModelConfig(file, path, text) {
                #expect(file == "config.json" && path.hasPrefix("$.config.layers[") && text.contains(message), "\(path): \(text)")
            }
        }
    }
}
