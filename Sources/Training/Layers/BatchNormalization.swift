import Tensors

/// Batch normalization over the features of `[N, C]` inputs (Keras `axis=-1`), with
/// Keras's exact math: batch mean and BIASED variance in training mode, moving statistics
/// `moving = momentum·moving + (1 − momentum)·batch` updated by the training-mode forward,
/// moving statistics in inference mode.
///
/// Which statistics are used is explicit (``BatchNormStatistics``); a frozen layer
/// (`isTrainable = false`) runs in inference mode and never updates its moving statistics.
///
/// ```swift
/// let bn = BatchNormalization(momentum: 0.9, epsilon: 1e-5)
/// let alwaysBatch = BatchNormalization(statistics: .batch)   // never touches moving stats
/// ```
public struct BatchNormalization: Layer {
    public static let namePrefix = "batch_normalization"
    public var name: String
    public var isTrainable = true
    /// How slowly the moving statistics follow the batches (Keras's convention; PyTorch's momentum is 1 − this).
    public let momentum: Double
    /// Added to the variance before the square root, so constant features do not divide by zero.
    public let epsilon: Double
    /// Whether a learned offset `beta` is added.
    public let center: Bool
    /// Whether a learned factor `gamma` multiplies.
    public let scale: Bool
    /// Which statistics normalize the input.
    public var statistics: BatchNormStatistics
    public private(set) var inputFeatures: Int?
    /// The learned scale `[features]` (ones when `scale` is false).
    public private(set) var gamma = Tensor<Float>(zeros: [0])
    /// The learned offset `[features]` (zeros when `center` is false).
    public private(set) var beta = Tensor<Float>(zeros: [0])
    /// The moving mean `[features]` that inference normalizes with.
    public private(set) var movingMean = Tensor<Float>(zeros: [0])
    /// The moving (biased) variance `[features]` that inference normalizes with.
    public private(set) var movingVariance = Tensor<Float>(zeros: [0])

    /// What the last stateful forward pass left for ``backward(_:needsInputGradient:)``.
    private var lastStep: Step?
    private var gammaGradient: Tensor<Float>?
    private var betaGradient: Tensor<Float>?

    /// What one forward pass produces besides its output (as equinox's batch norm returns
    /// `(output, state)`): the statistics it normalized with, and the batch moments the
    /// moving statistics follow when the pass uses batch statistics.
    private struct Step {
        let input: Tensor<Float>
        let mean: [Float]
        let inverseStd: [Float]
        let batchMoments: (mean: [Float], variance: [Float])?
    }

    /// Keras 3's defaults: momentum 0.99, epsilon 0.001, with gamma and beta; `statistics: .followMode` normalizes like Keras.
    public init(momentum: Double = 0.99, epsilon: Double = 0.001, center: Bool = true, scale: Bool = true,
                statistics: BatchNormStatistics = .followMode, name: String? = nil) {
        self.momentum = momentum
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.statistics = statistics
        self.name = name ?? ""
    }

    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }

    public mutating func build(inputFeatures: Int, seed: UInt64) throws -> Int {
        guard inputFeatures > 0 else {
            throw TrainingError.invalidArgument(layer: name, message: "input width must be positive, got \(inputFeatures)")
        }
        if let built = self.inputFeatures {
            guard built == inputFeatures else {
                throw TrainingError.shapeMismatch(layer: name, expected: [-1, built], found: [-1, inputFeatures])
            }
            return inputFeatures
        }
        self.inputFeatures = inputFeatures
        gamma = scale ? Tensor(repeating: 1, shape: [inputFeatures]) : Tensor(zeros: [0])
        beta = center ? Tensor(zeros: [inputFeatures]) : Tensor(zeros: [0])
        movingMean = Tensor(zeros: [inputFeatures])
        movingVariance = Tensor(repeating: 1, shape: [inputFeatures])
        return inputFeatures
    }

    /// Whether this layer normalizes with the batch's statistics in `mode`.
    public func usesBatchStatistics(in mode: ExecutionMode) -> Bool {
        switch statistics {
        case .batch: return true
        case .moving: return false
        case .followMode: return mode == .training && isTrainable
        }
    }

    /// Whether a stateful forward in `mode` updates the moving statistics.
    public func updatesMovingStatistics(in mode: ExecutionMode) -> Bool {
        statistics == .followMode && mode == .training && isTrainable
    }

    public func callAsFunction(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try pass(input, mode: mode).output
    }

    public mutating func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        let (output, step) = try pass(input, mode: mode)
        if updatesMovingStatistics(in: mode), let moments = step.batchMoments {
            updateMoving(mean: moments.mean, variance: moments.variance)
        }
        lastStep = step
        return output
    }

    /// The one forward computation; the pure and the stateful pass differ only in what they keep.
    private func pass(_ input: Tensor<Float>, mode: ExecutionMode) throws -> (output: Tensor<Float>, step: Step) {
        try checkBuiltInput(input, mode: mode)
        let step: Step
        if usesBatchStatistics(in: mode) {
            let moments = BatchNormMath.moments(input)
            step = Step(input: input, mean: moments.mean,
                        inverseStd: BatchNormMath.inverseStd(moments.variance, epsilon: Float(epsilon)),
                        batchMoments: moments)
        } else {
            step = Step(input: input, mean: movingMean.scalars,
                        inverseStd: BatchNormMath.inverseStd(movingVariance.scalars, epsilon: Float(epsilon)),
                        batchMoments: nil)
        }
        let output = BatchNormMath.normalize(input, mean: step.mean, inverseStd: step.inverseStd,
                                             gamma: scale ? gamma.scalars : nil, beta: center ? beta.scalars : nil)
        return (output, step)
    }

    public mutating func backward(_ upstream: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard let step = lastStep else { throw TrainingError.missingGradients(layer: name) }
        guard upstream.shape == step.input.shape else {
            throw TrainingError.shapeMismatch(layer: name, expected: step.input.shape, found: upstream.shape)
        }
        let result = BatchNormMath.backward(
            x: step.input, upstream: upstream, mean: step.mean, inverseStd: step.inverseStd,
            gamma: scale ? gamma.scalars : nil, batchStatistics: step.batchMoments != nil,
            wantsInput: needsInputGradient)
        if isTrainable {
            gammaGradient = scale ? Tensor(result.gamma) : nil
            betaGradient = center ? Tensor(result.beta) : nil
        }
        return result.input
    }

    public var variables: [NamedVariable] {
        var out: [NamedVariable] = []
        if scale { out.append(NamedVariable(name: "gamma", value: gamma, isTrainable: isTrainable)) }
        if center { out.append(NamedVariable(name: "beta", value: beta, isTrainable: isTrainable)) }
        out.append(NamedVariable(name: "moving_mean", value: movingMean, role: .movingStatistic))
        out.append(NamedVariable(name: "moving_variance", value: movingVariance, role: .movingStatistic))
        return out
    }

    /// Counts gamma, beta and both moving statistics, present or not (the bound a config is checked against).
    public func parameterCount(forInput inputFeatures: Int) -> Int { 4 * inputFeatures }

    public var normalizationStatistics: BatchNormStatistics? {
        get { statistics }
        set { if let newValue { statistics = newValue } }
    }

    public var checkpointAttributes: [(name: String, value: LayerAttribute)] {
        [("momentum", .double(momentum)), ("epsilon", .double(epsilon))]
    }

    public var gradients: [NamedVariable] {
        var out: [NamedVariable] = []
        if let gammaGradient { out.append(NamedVariable(name: "gamma", value: gammaGradient, isTrainable: true)) }
        if let betaGradient { out.append(NamedVariable(name: "beta", value: betaGradient, isTrainable: true)) }
        return out
    }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        let expected = [inputFeatures ?? 0]
        guard value.shape == expected || !(["gamma", "beta", "moving_mean", "moving_variance"].contains(localName)) else {
            throw TrainingError.shapeMismatch(layer: "\(name)/\(localName)", expected: expected, found: value.shape)
        }
        switch localName {
        case "gamma" where scale: gamma = value
        case "beta" where center: beta = value
        case "moving_mean": movingMean = value
        case "moving_variance": movingVariance = value
        default:
            throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: variables.map { "\(name)/\($0.name)" })
        }
    }

    public mutating func updateTrainableVariables(
        _ update: (_ value: inout Tensor<Float>, _ gradient: Tensor<Float>) throws -> Void
    ) throws {
        guard isTrainable, scale || center else { return }
        guard !scale || gammaGradient != nil, !center || betaGradient != nil else {
            throw TrainingError.missingGradients(layer: name)
        }
        if scale, let gammaGradient { try update(&gamma, gammaGradient) }
        if center, let betaGradient { try update(&beta, betaGradient) }
    }

    private func checkBuiltInput(_ input: Tensor<Float>, mode: ExecutionMode) throws {
        guard let inputFeatures else {
            throw TrainingError.invalidArgument(layer: name, message: "the layer is not built (use it in a Sequential)")
        }
        guard input.rank == 2, input.shape[1] == inputFeatures else {
            throw TrainingError.shapeMismatch(layer: name, expected: [-1, inputFeatures], found: input.shape)
        }
        guard input.shape[0] > 0 || !usesBatchStatistics(in: mode) else {
            throw TrainingError.invalidArgument(layer: name, message: "batch statistics of an empty batch are undefined")
        }
    }

    /// Keras computes `moving * momentum + batch * (1 - momentum)` in float32 with
    /// `1 - momentum` evaluated in double first.
    private mutating func updateMoving(mean: [Float], variance: [Float]) {
        let keep = Float(momentum)
        let take = Float(1 - momentum)
        movingMean.withUnsafeMutableBufferPointer { m in
            for j in m.indices { m[j] = m[j] * keep + mean[j] * take }
        }
        movingVariance.withUnsafeMutableBufferPointer { v in
            for j in v.indices { v[j] = v[j] * keep + variance[j] * take }
        }
    }
}

// MARK: Keras config

extension BatchNormalization {
    public static var kerasClassName: String? { "BatchNormalization" }
    public static var kerasRecordsBuildShape: Bool { true }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("axis", -1)
        config.set("momentum", momentum)
        config.set("epsilon", epsilon)
        config.set("center", center)
        config.set("scale", scale)
        config.setInitializer("beta_initializer", className: "Zeros", seeded: false)
        config.setInitializer("gamma_initializer", className: "Ones", seeded: false)
        config.setInitializer("moving_mean_initializer", className: "Zeros", seeded: false)
        config.setInitializer("moving_variance_initializer", className: "Ones", seeded: false)
        for key in ["beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"] { config.setNull(key) }
        config.set("synchronized", false)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(
        _ config: Config, name: String
    ) throws -> BatchNormalization {
        try config.requireFeatureAxis()
        if let renorm = config["renorm"], try renorm.bool() { throw KerasConfigProblem.unsupportedOption("renorm", value: "true") }
        try config.refuseNonNull(["virtual_batch_size", "adjustment", "beta_regularizer", "gamma_regularizer"])
        let momentum = try config["momentum"]?.number() ?? 0.99
        let epsilon = try config["epsilon"]?.number() ?? 0.001
        guard (0...1).contains(momentum) else {
            throw KerasConfigProblem.invalidOption("momentum", message: "\(momentum) is outside [0, 1]")
        }
        guard epsilon >= 0, epsilon.isFinite else {
            throw KerasConfigProblem.invalidOption("epsilon", message: "\(epsilon) must be ≥ 0")
        }
        return BatchNormalization(momentum: momentum, epsilon: epsilon, center: try config["center"]?.bool() ?? true,
                                  scale: try config["scale"]?.bool() ?? true, name: name)
    }
}
