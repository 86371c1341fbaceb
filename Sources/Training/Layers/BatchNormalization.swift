import Tensors

/// Batch normalization over the last axis (Keras `axis=-1`): the features of `[N, C]` inputs
/// or the channels of NHWC images `[N, H, W, C]` (statistics over N·H·W), with
/// Keras's exact math: batch mean and BIASED variance in training mode, moving statistics
/// `moving = momentum·moving + (1 − momentum)·batch` updated by each training step,
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
    public var center: Bool { affine.center }
    /// Whether a learned factor `gamma` multiplies.
    public var scale: Bool { affine.scale }
    /// Which statistics normalize the input.
    public var statistics: BatchNormStatistics
    /// Keras's `synchronized` option, kept in `.keras` files and native checkpoints. As in
    /// Keras it changes nothing in one process. The Distributed module's data-parallel trainer
    /// follows it when asked to (`BatchNormStatisticsScope.perLayer`: global-batch statistics
    /// when true, per-micro-shard ones when false); its default synchronizes every layer.
    public var synchronized: Bool
    public private(set) var inputShape: [Int]?
    /// The learned scale `[features]`; empty when `scale` is false: then, as in Keras, the
    /// layer has no `gamma` variable at all (none in its files or checkpoints, none counted),
    /// and normalizing multiplies by nothing.
    public var gamma: Tensor<Float> { affine.gamma }
    /// The learned offset `[features]`; empty when `center` is false (no `beta` variable, as
    /// for `gamma`), and nothing is added.
    public var beta: Tensor<Float> { affine.beta }
    /// gamma and beta with their options, as ``LayerNormalization`` and ``GroupNormalization``
    /// hold theirs (NormalizationAffine.swift); the normalization applies them in
    /// ``BatchNormMath`` and ``ChannelKernels``, in the same float32 expression.
    private(set) var affine: NormalizationAffine
    /// The moving mean `[features]` that inference normalizes with.
    public private(set) var movingMean = Tensor<Float>(zeros: [0])
    /// The moving (biased) variance `[features]` that inference normalizes with.
    public private(set) var movingVariance = Tensor<Float>(zeros: [0])

    /// What backward needs from one forward pass: the statistics it normalized with, and
    /// whether they were the batch's own (then the gradient flows through them).
    public struct Tape: Sendable {
        let input: Tensor<Float>
        let mean: [Float]
        let inverseStd: [Float]
        let usedBatchStatistics: Bool
    }

    /// Keras 3's defaults: momentum 0.99, epsilon 0.001, with gamma and beta; `statistics: .followMode` normalizes like Keras.
    public init(momentum: Double = 0.99, epsilon: Double = 0.001, center: Bool = true, scale: Bool = true,
                statistics: BatchNormStatistics = .followMode, synchronized: Bool = false, name: String? = nil) {
        self.momentum = momentum
        self.synchronized = synchronized
        self.epsilon = epsilon
        affine = NormalizationAffine(center: center, scale: scale)
        self.statistics = statistics
        self.name = name ?? ""
    }

    /// The input's shape: `[features]`, or any example shape whose last axis is the channels.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        _ = try channelCount(of: inputShape)
        return inputShape
    }

    /// The size of the normalized (last) axis of an example shape.
    private func channelCount(of inputShape: [Int]) throws -> Int {
        guard inputShape.count > 1 else { return try featureCount(of: inputShape) }
        guard inputShape.allSatisfy({ $0 > 0 }) else {
            throw TrainingError.invalidArgument(layer: name, message: "input shape \(inputShape) must be positive")
        }
        return inputShape[inputShape.count - 1]
    }

    public mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        let inputFeatures = try channelCount(of: inputShape)
        try checkRebuild(inputShape)
        guard self.inputShape == nil else { return inputShape }
        self.inputShape = inputShape
        affine.build(features: inputFeatures)
        movingMean = Tensor(zeros: [inputFeatures])
        movingVariance = Tensor(repeating: 1, shape: [inputFeatures])
        return inputShape
    }

    /// The variables a training step's state update sets, in that order (one constant list,
    /// so that a step does not build it).
    static let movingStatisticNames = ["moving_mean", "moving_variance"]

    /// Whether this layer normalizes with the batch's statistics in `mode`.
    public func usesBatchStatistics(in mode: ExecutionMode) -> Bool {
        switch statistics {
        case .batch: return true
        case .moving: return false
        case .followMode: return mode == .training && isTrainable
        }
    }

    /// Whether a training step in `mode` updates the moving statistics.
    public func updatesMovingStatistics(in mode: ExecutionMode) -> Bool {
        statistics == .followMode && mode == .training && isTrainable
    }

    /// Normalizes with the statistics ``usesBatchStatistics(in:)`` picks; when the pass
    /// updates the moving statistics, their new values are in the output's
    /// ``LayerOutput/stateUpdate`` (the layer itself does not change).
    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tape> {
        try checkBuiltInput(input, mode: mode)
        guard input.rank == 2 else {
            // Images: the channels of every pixel are the rows of [N·H·W, C] (BatchNormalization+Images.swift).
            return try normalizeImages(input, mode: mode)
        }
        return try normalizeRows(input, mode: mode)
    }

    /// The forward pass on `[rows, C]`.
    /// With `thenReLU`, the output is that of a ReLU layer after this one (BatchNormalization+ReLU.swift).
    func normalizeRows(_ input: Tensor<Float>, mode: ExecutionMode, thenReLU: Bool = false) throws -> LayerOutput<Tape> {
        let (tape, update) = forwardStatistics(of: input, mode: mode) { BatchNormMath.moments(input) }
        let output = BatchNormMath.normalize(input, mean: tape.mean, inverseStd: tape.inverseStd,
                                             gamma: scale ? gamma.scalars : nil, beta: center ? beta.scalars : nil,
                                             thenReLU: thenReLU)
        return LayerOutput(output: output, tape: tape, stateUpdate: update)
    }

    /// The tape of a forward pass over the `[rows, C]` matrix `rows` and its state update: the
    /// batch moments (`batchMoments()`, computed only when ``usesBatchStatistics(in:)``) or the
    /// moving statistics, and the moving averages a training step moves towards the batch's.
    func forwardStatistics(of rows: Tensor<Float>, mode: ExecutionMode,
                           batchMoments: () -> (mean: [Float], variance: [Float])) -> (Tape, LayerStateUpdate) {
        var update = LayerStateUpdate()
        guard usesBatchStatistics(in: mode) else {
            return (Tape(input: rows, mean: movingMean.scalars,
                         inverseStd: BatchNormMath.inverseStd(movingVariance.scalars, epsilon: Float(epsilon)),
                         usedBatchStatistics: false), update)
        }
        var moments = batchMoments()
        if updatesMovingStatistics(in: mode) {
            update = LayerStateUpdate(variableNames: Self.movingStatisticNames, values: [
                BatchNormMath.movingAverage(movingMean, following: moments.mean, momentum: momentum),
                BatchNormMath.movingAverage(movingVariance, following: moments.variance, momentum: momentum),
            ])
        }
        // The batch variance is not needed after this: its array (moved out, so not shared)
        // becomes the inverse std.
        var variance: [Float] = []
        swap(&variance, &moments.variance)
        return (Tape(input: rows, mean: moments.mean,
                     inverseStd: BatchNormMath.inverseStd(consume variance, epsilon: Float(epsilon)),
                     usedBatchStatistics: true), update)
    }

    public func backward(_ upstream: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        if upstream.rank != 2, upstream.scalarCount == tape.input.scalarCount, upstream.channelCount == tape.input.channelCount {
            return try imagesBackward(upstream, tape: tape, gradients: &gradients, needsInputGradient: needsInputGradient)
        }
        return try backwardRows(upstream, reluOutput: nil, tape: tape, gradients: &gradients,
                                needsInputGradient: needsInputGradient)
    }

    /// The backward pass on `[rows, C]`; with `reluOutput`, `upstream` is the gradient at the
    /// output of the ReLU layer after this one (BatchNormalization+ReLU.swift).
    func backwardRows(_ upstream: Tensor<Float>, reluOutput: Tensor<Float>?, tape: Tape,
                      gradients: inout LayerGradients, needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard upstream.shape == tape.input.shape else {
            throw TrainingError.shapeMismatch(layer: name, expected: tape.input.shape, found: upstream.shape)
        }
        // Last step's gamma and beta gradients are summed into again (no new arrays per step).
        let result = BatchNormMath.backward(
            x: tape.input, upstream: upstream, mean: tape.mean, inverseStd: tape.inverseStd,
            gamma: scale ? gamma.scalars : nil, batchStatistics: tape.usedBatchStatistics,
            wantsInput: needsInputGradient, reusingGamma: gradients.reusableBuffer("gamma")?.scalars ?? [],
            reusingBeta: gradients.reusableBuffer("beta")?.scalars ?? [], reluOutput: reluOutput)
        // Shaped like the variables themselves, so no shape array is allocated per step.
        affine.store(gammaGradient: Tensor(computedShape: gamma.shape, result.gamma),
                     betaGradient: Tensor(computedShape: beta.shape, result.beta), isTrainable: isTrainable, in: &gradients)
        return result.input
    }

    public var variables: [NamedVariable] {
        var out = affine.variables(isTrainable: isTrainable)
        out.append(NamedVariable(name: "moving_mean", value: movingMean, role: .movingStatistic))
        out.append(NamedVariable(name: "moving_variance", value: movingVariance, role: .movingStatistic))
        return out
    }

    /// Counts gamma, beta and both moving statistics, present or not (the bound a config is checked against).
    public func parameterCount(forInput inputShape: [Int]) -> Int { 4 * (inputShape.last ?? 0) }

    public var normalizationStatistics: BatchNormStatistics? {
        get { statistics }
        set { if let newValue { statistics = newValue } }
    }

    /// `momentum`, `epsilon` and `synchronized` (int8; files written before it was stored
    /// lack it, and loading one keeps the model's own flag).
    public var checkpointAttributes: [(name: String, value: LayerAttribute)] {
        [("momentum", .double(momentum)), ("epsilon", .double(epsilon)), ("synchronized", .flag(synchronized))]
    }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        switch localName {
        case "moving_mean", "moving_variance":
            // Compared without building arrays: apply(_:) calls this for both moving statistics every step.
            let features = inputShape?.last ?? 0
            guard value.shape.count == 1 && value.shape[0] == features else {
                throw TrainingError.shapeMismatch(layer: "\(name)/\(localName)", expected: [features], found: value.shape)
            }
            if localName == "moving_mean" { movingMean = value } else { movingVariance = value }
        case "gamma" where scale, "beta" where center:
            // A switched-off gamma or beta is no variable of this layer, whatever the shape offered.
            try affine.setVariable(localName, to: value, layer: name)
        default:
            throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: variables.map { "\(name)/\($0.name)" })
        }
    }

    /// Updates gamma and beta in place.
    public mutating func updateTrainableVariables(
        _ update: (_ localName: String, _ value: inout Tensor<Float>) throws -> Void
    ) throws {
        guard isTrainable else { return }
        if scale { try update("gamma", &affine.gamma) }
        if center { try update("beta", &affine.beta) }
    }

    func checkBuiltInput(_ input: Tensor<Float>, mode: ExecutionMode) throws {
        guard inputShape != nil else {
            throw TrainingError.invalidArgument(layer: name, message: "the layer is not built (use it in a Sequential)")
        }
        try checkInput(input)
        guard input.shape[0] > 0 || !usesBatchStatistics(in: mode) else {
            throw TrainingError.invalidArgument(layer: name, message: "batch statistics of an empty batch are undefined")
        }
    }
}

// MARK: Keras config

extension BatchNormalization {
    public static var kerasClassName: String? { "BatchNormalization" }
    public static var kerasRecordsBuildShape: Bool { true }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        affine.encode(epsilon: epsilon, to: &config)
        config.set("momentum", momentum)
        config.setInitializer("moving_mean_initializer", className: "Zeros", seeded: false)
        config.setInitializer("moving_variance_initializer", className: "Ones", seeded: false)
        config.set("synchronized", synchronized)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(
        _ config: Config, name: String
    ) throws -> BatchNormalization {
        try config.requireFeatureAxis()
        if let renorm = config["renorm"], try renorm.bool() { throw KerasConfigProblem.unsupportedOption("renorm", value: "true") }
        try config.refuseNonNull(["virtual_batch_size", "adjustment", "beta_regularizer", "gamma_regularizer"])
        let momentum = try config["momentum"]?.number() ?? 0.99
        guard (0...1).contains(momentum) else {
            throw KerasConfigProblem.invalidOption("momentum", message: "\(momentum) is outside [0, 1]")
        }
        let options = try NormalizationAffine.decode(config)
        return BatchNormalization(momentum: momentum, epsilon: options.epsilon, center: options.center, scale: options.scale,
                                  synchronized: try config["synchronized"]?.bool() ?? false, name: name)
    }
}
