import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Rescaling against Keras 3 (fixtures/rescaling, written by make_rescaling.py): forward and
/// input gradient of the layer alone for examples of rank 1 to 3, the gradient again by finite
/// differences, and a Keras-saved image model loaded, saved and reloaded. Rescaling is listed
/// in `KerasLayerTypes.all` by the build plugin alone: its file names it nowhere else.
@Suite struct RescalingTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/rescaling")

    static func read(_ file: HDF5File, _ path: String) throws -> Tensor<Float> { try LayerNormalizationTests.read(file, path) }

    @Test(arguments: ["unit_interval", "symmetric", "negative"])
    func forwardAndGradientMatchKeras(case name: String) throws {
        let file = try HDF5File.open(at: Self.directory.appendingPathComponent("rescaling.h5"))
        defer { try? file.close() }
        let group = "/\(name)"
        let input = try Self.read(file, "\(group)/input")
        var layer = Rescaling(scale: try file.readAttribute("scale", of: group, as: Double.self),
                              offset: try file.readAttribute("offset", of: group, as: Double.self))
        let exampleShape = Array(input.shape.dropFirst())
        #expect(try layer.build(inputShape: exampleShape, seed: 0) == exampleShape)
        for mode in [ExecutionMode.inference, .training] {
            let pass = try layer.forward(input, mode: mode)
            LayerNormalizationTests.expectClose(pass.output, try Self.read(file, "\(group)/output"), "\(name) output (\(mode))")
            #expect(pass.stateUpdate.isEmpty)
        }
        let upstream = try Self.read(file, "\(group)/upstream")
        var gradients = LayerGradients()
        let inputGradient = try #require(try layer.backward(upstream, tape: (), gradients: &gradients,
                                                            needsInputGradient: true))
        LayerNormalizationTests.expectClose(inputGradient, try Self.read(file, "\(group)/gradients/input"), "\(name) d input")
        #expect(gradients.names.isEmpty && layer.variables.isEmpty)

        // Central differences of sum(output · upstream); the layer is affine, so a step of 1
        // adds no truncation error, only float32 rounding of the two outputs.
        func objective(_ x: Tensor<Float>) throws -> Double {
            zip(try layer(x, mode: .inference).scalars, upstream.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        var numeric = [Float](repeating: 0, count: input.scalars.count)
        for index in input.scalars.indices {
            var plus = input.scalars, minus = input.scalars
            plus[index] += 1
            minus[index] -= 1
            numeric[index] = Float((try objective(try Tensor(shape: input.shape, scalars: plus))
                - objective(try Tensor(shape: input.shape, scalars: minus))) / 2)
        }
        let worst = zip(inputGradient.scalars, numeric).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst <= 1e-4, "\(name) finite differences: worst difference \(worst)")
    }

    static func modelReference() throws -> (inputs: Tensor<Float>, outputs: Tensor<Float>) {
        let file = try HDF5File.open(at: directory.appendingPathComponent("rescaling_model.io.h5"))
        defer { try? file.close() }
        return (try read(file, "/inputs"), try read(file, "/outputs"))
    }

    @Test func aKerasSavedImageModelLoadsAndRoundTripsThroughKerasFiles() throws {
        let reference = try Self.modelReference()
        let loaded = try KerasModelFile.load(Self.directory.appendingPathComponent("rescaling_model.keras")).model
        #expect(loaded.layers.map(\.typeName) == ["Rescaling", "Flatten", "Dense"])
        #expect(loaded.summary().contains("rescaling (Rescaling)"))
        let layer = try #require(loaded.layers.first as? Rescaling)
        // Foundation's JSON parser on Linux reads 0.00784313725490196 one double ulp low; the
        // layer computes with the float32 value, as Keras does, which is the same.
        #expect(Float(layer.scale) == Float(1 / 127.5))
        #expect(layer.offset == -1 && layer.inputShape == [3, 3, 2])
        let predictions = try loaded(reference.inputs, mode: .inference)
        LayerNormalizationTests.expectClose(predictions, reference.outputs, ".keras predictions")

        let folder = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = folder.appendingPathComponent("rescaling.keras")
        try KerasModelFile.save(loaded, to: archive)
        let back = try KerasModelFile.load(archive).model
        let backLayer = try #require(back.layers.first as? Rescaling)
        #expect(backLayer.scale == layer.scale && backLayer.offset == layer.offset && backLayer.name == "rescaling")
        #expect(back.variables == loaded.variables)
        #expect(try back(reference.inputs, mode: .inference) == (try loaded(reference.inputs, mode: .inference)))
    }

    @Test func aTrainedModelRoundTripsThroughANativeCheckpoint() throws {
        var model = try Sequential(inputFeatures: 4, [Rescaling(scale: 0.5, offset: -1), Dense(units: 3, activation: .softmax)],
                                   seed: 3)
        let x = try Tensor<Float>(shape: [5, 4], scalars: (0..<20).map { Float($0 % 7) })
        let y = Tensor<Float>((0..<5).map { Float($0 % 3) })
        var sgd = SGD(learningRate: 0.1)
        let step = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        try sgd.apply(step.gradients, to: &model)
        let folder = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("rescaling.h5")
        let snapshot = TrainingSnapshot(model: model, optimizerState: sgd.state, iteratorState: nil,
                                        epoch: 0, stepInEpoch: 1, globalStep: 1, history: History())
        try NativeCheckpoint.save(snapshot, optimizer: .sgd(learningRate: 0.1, momentum: 0, nesterov: false), to: checkpoint)
        let restored = try NativeCheckpoint.load(from: checkpoint).snapshot.model
        let layer = try #require(restored.layers.first as? Rescaling)
        #expect(layer.scale == 0.5 && layer.offset == -1)
        #expect(restored.variables == model.variables)
        #expect(try restored(x, mode: .inference) == (try model(x, mode: .inference)))
    }

    @Test func aPerChannelScaleIsRefused() throws {
        let model = try Sequential(inputFeatures: 2, [Rescaling(scale: 0.5), Dense(units: 1)], name: "scaled")
        let json = try KerasModelConfig.json(for: model)
        #expect(json.contains("\"scale\":0.5"))
        let perChannel = json.replacingOccurrences(of: "\"scale\":0.5", with: "\"scale\":[0.5,0.25]")
        #expect(throws: CheckpointError.unsupportedLayer(file: "config.json", layer: "rescaling", className: "Rescaling",
                                                         option: "scale", value: "[0.5,0.25]")) {
            try KerasModelConfig.model(fromJSON: perChannel, file: "config.json")
        }
    }
}
