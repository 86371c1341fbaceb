import Tensors

/// Group normalization (Keras `GroupNormalization(groups)`, `axis=-1`): the channels (the
/// last axis) are split into `groups` consecutive groups, and every example's values in one
/// group — all positions of the other axes, all channels of the group — are normalized with
/// their own mean and biased variance, then scaled by `gamma` and shifted by `beta` (one per
/// channel). `groups: 1` normalizes each example as a whole; `groups: -1` makes one group per
/// channel (instance normalization). Like ``LayerNormalization`` it has no moving statistics
/// and computes the same in training and inference mode; it takes examples of any rank
/// (`[features]`, `[height, width, channels]`).
///
/// The arithmetic is Keras's float32 expression: `inv = gamma · rsqrt(variance + epsilon)`,
/// `y = x · inv + (beta − mean · inv)`; the group sums are taken in double precision.
///
/// ```swift
/// let model = try Sequential(inputShape: [8, 8, 6], [GroupNormalization(groups: 3), Flatten(), Dense(units: 2)])
/// ```
public struct GroupNormalization: Layer {
    public static let namePrefix = "group_normalization"
    public var name: String
    public var isTrainable = true
    /// The number of channel groups; `-1` (one group per channel) becomes the channel count
    /// when the layer is built, as in Keras.
    public private(set) var groups: Int
    /// Added to the variance before the square root, so constant groups do not divide by zero.
    public let epsilon: Double
    /// Whether a learned offset `beta` is added.
    public var center: Bool { affine.center }
    /// Whether a learned factor `gamma` multiplies.
    public var scale: Bool { affine.scale }
    public private(set) var inputShape: [Int]?
    /// The learned scale, one per channel (empty when `scale` is false).
    public var gamma: Tensor<Float> { affine.gamma }
    /// The learned offset, one per channel (empty when `center` is false).
    public var beta: Tensor<Float> { affine.beta }
    /// gamma and beta with their options, shared with ``LayerNormalization`` (NormalizationAffine.swift).
    private var affine: NormalizationAffine

    /// What backward needs: the input and each (example, group)'s mean and
    /// `1 / sqrt(variance + epsilon)`, example-major, in double precision (the gradients of
    /// `gamma` sum over every example and position, where float32 statistics alone would
    /// cost more than 1e-6).
    public struct Tape: Sendable {
        let input: Tensor<Float>
        let mean: [Double]
        let inverseStd: [Double]
    }

    /// Keras 3's defaults: 32 groups, epsilon 0.001, with gamma and beta.
    /// - Parameters:
    ///   - groups: how many groups the channels form; it must divide the channel count, or be
    ///     `-1` for one group per channel (checked when the layer is built).
    ///   - epsilon: added to each group's variance.
    ///   - center: whether the variable `beta` is added.
    ///   - scale: whether the variable `gamma` multiplies.
    ///   - name: the layer's name; `nil` lets ``Sequential`` name it (`group_normalization`, ...).
    public init(groups: Int = 32, epsilon: Double = 0.001, center: Bool = true, scale: Bool = true, name: String? = nil) {
        self.groups = groups
        self.epsilon = epsilon
        affine = NormalizationAffine(center: center, scale: scale)
        self.name = name ?? ""
    }

    /// The input's shape: any rank, whose last axis (the channels) `groups` divides.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        _ = try groupCount(forInput: inputShape)
        return inputShape
    }

    public mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        let groupCount = try groupCount(forInput: inputShape)
        try checkRebuild(inputShape)
        guard self.inputShape == nil else { return inputShape }
        self.inputShape = inputShape
        groups = groupCount
        affine.build(features: inputShape[inputShape.count - 1])
        return inputShape
    }

    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tape> {
        guard let inputShape else {
            throw TrainingError.invalidArgument(layer: name, message: "the layer is not built (use it in a Sequential)")
        }
        try checkInput(input)
        let layout = GroupLayout(exampleShape: inputShape, groups: groups)
        let examples = input.shape[0], epsilon = Float(epsilon)
        var mean: [Double] = [], inverseStd: [Double] = []
        mean.reserveCapacity(examples * groups)
        inverseStd.reserveCapacity(examples * groups)
        var output = input
        let gammaValues = gamma.scalars, betaValues = beta.scalars
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for example in 0..<examples {
                    for group in 0..<groups {
                        var sum = 0.0
                        layout.forEach(example: example, group: group) { index, _ in sum += Double(x[index]) }
                        let groupMean = sum / Double(layout.groupSize)
                        var squares = 0.0
                        layout.forEach(example: example, group: group) { index, _ in
                            let deviation = Double(x[index]) - groupMean
                            squares += deviation * deviation
                        }
                        let variance = squares / Double(layout.groupSize)
                        mean.append(groupMean)
                        inverseStd.append(1 / (variance + Double(epsilon)).squareRoot())
                        // The output follows Keras's float32 expression.
                        let m = Float(groupMean)
                        let inverse = 1 / (Float(variance) + epsilon).squareRoot()
                        layout.forEach(example: example, group: group) { index, channel in
                            y[index] = affine.apply(x[index], mean: m, inverseStd: inverse, gamma: gammaValues,
                                                    beta: betaValues, position: channel)
                        }
                    }
                }
            }
        }
        return LayerOutput(output: output, tape: Tape(input: input, mean: mean, inverseStd: inverseStd))
    }

    /// With `x̂ = (x − mean)·s` and `ĝ = upstream·gamma`, per (example, group):
    /// `dx = s·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))`; `dgamma = Σ upstream·x̂`, `dbeta = Σ upstream`
    /// over examples and the non-channel axes.
    public func backward(_ upstream: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard upstream.shape == tape.input.shape, let inputShape else {
            throw TrainingError.shapeMismatch(layer: name, expected: tape.input.shape, found: upstream.shape)
        }
        let layout = GroupLayout(exampleShape: inputShape, groups: groups)
        let channels = layout.channels
        var gammaGradient = [Double](repeating: 0, count: channels)
        var betaGradient = [Double](repeating: 0, count: channels)
        var inputGradient = upstream
        let gammaValues = gamma.scalars
        tape.input.withUnsafeBufferPointer { x in
            upstream.withUnsafeBufferPointer { g in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    for statistic in tape.mean.indices {
                        let (example, group) = statistic.quotientAndRemainder(dividingBy: groups)
                        let s = tape.inverseStd[statistic], m = tape.mean[statistic]
                        var sum = 0.0, sumTimesNormalized = 0.0
                        layout.forEach(example: example, group: group) { index, channel in
                            let normalized = (Double(x[index]) - m) * s, upstreamValue = Double(g[index])
                            gammaGradient[channel] += upstreamValue * normalized
                            betaGradient[channel] += upstreamValue
                            let scaled = scale ? upstreamValue * Double(gammaValues[channel]) : upstreamValue
                            sum += scaled
                            sumTimesNormalized += scaled * normalized
                        }
                        guard needsInputGradient else { continue }
                        let meanGradient = sum / Double(layout.groupSize)
                        let meanProduct = sumTimesNormalized / Double(layout.groupSize)
                        layout.forEach(example: example, group: group) { index, channel in
                            let normalized = (Double(x[index]) - m) * s
                            let scaled = scale ? Double(g[index]) * Double(gammaValues[channel]) : Double(g[index])
                            dx[index] = Float(s * (scaled - meanGradient - normalized * meanProduct))
                        }
                    }
                }
            }
        }
        affine.store(gammaGradient: Tensor(gammaGradient.map { Float($0) }), betaGradient: Tensor(betaGradient.map { Float($0) }),
                     isTrainable: isTrainable, in: &gradients)
        return needsInputGradient ? inputGradient : nil
    }

    public var variables: [NamedVariable] { affine.variables(isTrainable: isTrainable) }

    /// Counts gamma and beta, present or not (the bound a config is checked against).
    public func parameterCount(forInput inputShape: [Int]) -> Int { 2 * (inputShape.last ?? 0) }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        try affine.setVariable(localName, to: value, layer: name)
    }

    public var checkpointAttributes: [(name: String, value: LayerAttribute)] {
        [("groups", .unsigned(UInt64(max(groups, 0)))), ("epsilon", .double(epsilon))]
    }

    /// The number of groups for examples shaped `inputShape` (`-1` resolved), or a
    /// ``TrainingError/invalidArgument(layer:message:)`` naming `groups` when it does not
    /// divide the channels, as Keras refuses it.
    private func groupCount(forInput inputShape: [Int]) throws -> Int {
        guard let channels = inputShape.last, channels > 0 else {
            throw TrainingError.shapeMismatch(layer: name, expected: [-1, -1], found: [-1] + inputShape)
        }
        let count = groups == -1 ? channels : groups
        guard count > 0 else {
            throw TrainingError.invalidArgument(layer: name, message: "groups must be positive or -1, got \(groups)")
        }
        guard count <= channels, channels % count == 0 else {
            throw TrainingError.invalidArgument(layer: name, message: "groups (\(count)) must divide the \(channels) channels")
        }
        return count
    }
}

/// Where one group's values lie in a batch of channels-last examples: for every position
/// of the non-channel axes, a run of `channels / groups` consecutive channels.
private struct GroupLayout {
    let channels: Int
    let channelsPerGroup: Int
    let positions: Int

    init(exampleShape: [Int], groups: Int) {
        channels = exampleShape[exampleShape.count - 1]
        channelsPerGroup = channels / groups
        positions = exampleShape.dropLast().reduce(1, *)
    }

    /// The number of values one (example, group) normalizes over.
    var groupSize: Int { positions * channelsPerGroup }

    /// Calls `body` with the flat index and channel of each value of one (example, group).
    @inline(__always)
    func forEach(example: Int, group: Int, _ body: (_ index: Int, _ channel: Int) -> Void) {
        let firstChannel = group * channelsPerGroup
        var offset = example * positions * channels + firstChannel
        for _ in 0..<positions {
            for j in 0..<channelsPerGroup { body(offset + j, firstChannel + j) }
            offset += channels
        }
    }
}

// MARK: Keras config

extension GroupNormalization {
    public static var kerasClassName: String? { "GroupNormalization" }
    public static var kerasRecordsBuildShape: Bool { true }

    /// Writes `groups` as Keras does after building (`-1` resolved to the channel count).
    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("groups", groups)
        affine.encode(epsilon: epsilon, to: &config)
    }

    /// Only the last axis (`-1` or `[-1]`) is supported; `groups` must be positive or `-1`,
    /// and regularizers are refused.
    public static func decodeKerasConfig<Config: KerasConfigReading>(
        _ config: Config, name: String
    ) throws -> GroupNormalization {
        try config.requireLastAxis()
        try config.refuseNonNull(["beta_regularizer", "gamma_regularizer"])
        var groups = 32
        if let value = config["groups"] {
            guard let count = try? value.integer(), count > 0 || count == -1 else {
                throw KerasConfigProblem.invalidOption("groups", message: "\(value.text) must be a positive integer or -1")
            }
            groups = count
        }
        let options = try NormalizationAffine.decode(config)
        return GroupNormalization(groups: groups, epsilon: options.epsilon, center: options.center, scale: options.scale,
                                  name: name)
    }
}
