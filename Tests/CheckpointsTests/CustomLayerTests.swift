import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// A layer defined only in this file: `y = x · factor` per feature, with a trainable `factor`,
/// a moving statistic `mean_abs` (the moving mean of |x|, updated by training forwards), a
/// random generator state that each training forward advances, a native-checkpoint attribute
/// and a Keras config option. Nothing outside this file knows it, so everything below shows
/// that summaries, optimizers, Keras configs, native checkpoints and strict-load diffing
/// handle a new layer through ``Layer`` alone.
struct FeatureScale: Layer {
    static let namePrefix = "feature_scale"
    var name: String
    var isTrainable = true
    let initialFactor: Double
    private(set) var inputShape: [Int]?
    private(set) var factor = Tensor<Float>(zeros: [0])
    private(set) var meanAbs = Tensor<Float>(zeros: [0])
    private(set) var draws: UInt64 = 0

    init(initialFactor: Double = 2, name: String? = nil) {
        self.initialFactor = initialFactor
        self.name = name ?? ""
    }

    func outputShape(forInput inputShape: [Int]) throws -> [Int] { inputShape }
    func parameterCount(forInput inputShape: [Int]) -> Int { 2 * inputShape.reduce(1, *) }

    mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        self.inputShape = inputShape
        factor = Tensor(repeating: Float(initialFactor), shape: inputShape)
        meanAbs = Tensor(zeros: inputShape)
        draws = seed
        return inputShape
    }

    private func scaled(_ input: Tensor<Float>) -> Tensor<Float> {
        let width = input.shape[1]
        var out = input
        out.withUnsafeMutableBufferPointer { y in
            for i in y.indices { y[i] *= factor.scalars[i % width] }
        }
        return out
    }

    /// The tape is the input; a training pass moves `mean_abs` and the generator on.
    func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tensor<Float>> {
        var update = LayerStateUpdate()
        if mode == .training {
            update.randomState = draws &+ 1
            let rows = Float(input.shape[0]), width = input.shape[1]
            var means = [Float](repeating: 0, count: width)
            for (i, x) in input.scalars.enumerated() { means[i % width] += abs(x) / rows }
            update.variables["mean_abs"] = Tensor(zip(meanAbs.scalars, means).map { 0.5 * $0 + 0.5 * $1 })
        }
        return LayerOutput(output: scaled(input), tape: input, stateUpdate: update)
    }

    func backward(_ upstream: Tensor<Float>, tape input: Tensor<Float>, gradients: inout LayerGradients,
                  needsInputGradient: Bool) throws -> Tensor<Float>? {
        let width = input.shape[1]
        var gradient = [Float](repeating: 0, count: width)
        for (i, (x, g)) in zip(input.scalars, upstream.scalars).enumerated() { gradient[i % width] += x * g }
        if isTrainable { gradients["factor"] = Tensor(gradient) }
        return needsInputGradient ? scaled(upstream) : nil
    }

    var variables: [NamedVariable] {
        [NamedVariable(name: "factor", value: factor, isTrainable: isTrainable),
         NamedVariable(name: "mean_abs", value: meanAbs, role: .movingStatistic)]
    }

    mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        switch localName {
        case "factor": factor = value
        case "mean_abs": meanAbs = value
        default: throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: ["factor", "mean_abs"])
        }
    }

    var randomState: UInt64? { draws }
    mutating func setRandomState(_ state: UInt64) throws { draws = state }
    var checkpointAttributes: [(name: String, value: LayerAttribute)] { [("initial_factor", .double(initialFactor))] }

    static var kerasClassName: String? { "FeatureScale" }
    func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("initial_factor", initialFactor)
    }
    static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> FeatureScale {
        let factor = try config.required("initial_factor").number()
        guard factor > 0 else { throw KerasConfigProblem.invalidOption("initial_factor", message: "\(factor) must be > 0") }
        return FeatureScale(initialFactor: factor, name: name)
    }
}

@Suite struct CustomLayerTests {
    private func model(seed: UInt64 = 3) throws -> Sequential {
        try Sequential(inputFeatures: 2, [Dense(units: 3, seed: 5), FeatureScale(initialFactor: 1.5)], seed: seed)
    }

    private let x = try! Tensor<Float>(shape: [2, 2], scalars: [1, -2, 0.5, 3])
    private let y = try! Tensor<Float>(shape: [2, 3], scalars: [1, 0, -1, 0.5, 2, 0])

    @Test func summaryAndParameterCountsReadTheLayersOwnDescription() throws {
        let model = try model()
        #expect(model.summary().contains("feature_scale (FeatureScale)"))
        let counts = model.parameterCounts
        #expect(counts.total == 15 && counts.trainable == 12 && counts.nonTrainable == 3)
        #expect(model.trainableVariableNames == ["dense/kernel", "dense/bias", "feature_scale/factor"])
        #expect(model.variables.map(\.role) == [.trainable, .trainable, .trainable, .movingStatistic])
    }

    /// SGD's step on `factor` against the hand-derived gradient of the mean squared error:
    /// ∂L/∂factor_j = Σ_i 2 (y_ij − t_ij) h_ij / (N · C), with h the Dense output.
    @Test func anOptimizerUpdatesTheLayersTrainableVariable() throws {
        var model = try model()
        let h = try model.layers[0](x, mode: .training)
        let factor = try model.variable("feature_scale/factor").scalars
        var expected = [Float](repeating: 0, count: 3)
        for i in 0..<6 {
            let prediction = h.scalars[i] * factor[i % 3]
            expected[i % 3] += 2 * (prediction - y.scalars[i]) * h.scalars[i] / 6
        }
        let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
        var sgd = SGD(learningRate: 0.1)
        try sgd.apply(step.gradients, to: &model)
        let updated = try model.variable("feature_scale/factor").scalars
        for j in 0..<3 { #expect(abs(updated[j] - (factor[j] - 0.1 * expected[j])) < 1e-5) }
    }

    @Test func aKerasConfigRoundTripsThroughTheLayersOwnCoding() throws {
        let json = try KerasModelConfig.json(for: try model())
        #expect(json.contains("\"class_name\":\"FeatureScale\""))
        #expect(json.contains("\"initial_factor\":1.5"))
        let twin = try KerasModelConfig.model(fromJSON: json, file: "config.json", customLayers: [FeatureScale.self])
        let layer = try #require(twin.layers[1] as? FeatureScale)
        #expect(layer.initialFactor == 1.5 && layer.name == "feature_scale")

        // Unknown without the caller's type, and the layer's own refusal carries the JSON path.
        #expect(throws: CheckpointError.unsupportedLayer(file: "config.json", layer: "feature_scale",
                                                         className: "FeatureScale", option: nil, value: nil)) {
            try KerasModelConfig.model(fromJSON: json, file: "config.json")
        }
        let bad = json.replacingOccurrences(of: "\"initial_factor\":1.5", with: "\"initial_factor\":-1")
        #expect(throws: CheckpointError.invalidModelConfig(
            file: "config.json", path: "$.config.layers[2].config.initial_factor",
            message: "layer 'feature_scale' (FeatureScale): initial_factor -1.0 must be > 0")) {
            try KerasModelConfig.model(fromJSON: bad, file: "config.json", customLayers: [FeatureScale.self])
        }
    }

    @Test func aNativeCheckpointStoresAndRestoresEverythingTheLayerDescribes() throws {
        var trained = try model()
        let step = try trained.trainingStep(x: x, y: y, loss: .meanSquaredError)
        try trained.apply(step.stateUpdate)
        var sgd = SGD(learningRate: 0.1)
        try sgd.apply(step.gradients, to: &trained)
        let snapshot = TrainingSnapshot(model: trained, optimizerState: sgd.state, iteratorState: nil,
                                        epoch: 0, stepInEpoch: 1, globalStep: 1, history: History())
        let url = try NativeFixtures.folder().appendingPathComponent("custom.h5")
        try NativeCheckpoint.save(snapshot, optimizer: .sgd(learningRate: 0.1, momentum: 0, nesterov: false), to: url)

        let file = try HDF5File.open(at: url)
        #expect(try file.readAttribute("class_name", of: "/model/feature_scale", as: String.self) == "FeatureScale")
        #expect(try file.readAttribute("initial_factor", of: "/model/feature_scale", as: Double.self) == 1.5)
        #expect(try file.readAttribute("rng_state", of: "/model/feature_scale", as: UInt64.self) == trained.randomStates["feature_scale"])
        #expect(try file.read("/model/feature_scale/mean_abs", as: Float.self).values
                == (try trained.variable("feature_scale/mean_abs")).scalars)
        try file.close()

        let loaded = try NativeCheckpoint.load(from: url, into: try model(seed: 99))
        #expect(loaded.snapshot.model.variables == trained.variables)
        #expect(loaded.snapshot.model.randomStates == trained.randomStates)
        #expect(trained.randomStates["feature_scale"] != (try model(seed: 99)).randomStates["feature_scale"])

        // Strict loading into a model without the layer lists each thing the layer stored.
        let plain = try Sequential(inputFeatures: 2, [Dense(units: 3)])
        #expect(throws: CheckpointError.variableMismatch(file: url.path, differences: [
            "unexpected variable feature_scale/factor (found float32 [3])",
            "unexpected variable feature_scale/mean_abs (found float32 [3])",
            "unexpected RNG state of layer feature_scale (the model has no Dropout layer of that name)",
        ])) {
            try NativeCheckpoint.load(from: url, into: plain)
        }
    }
}
