import Tensors

/// Layer normalization (Keras `LayerNormalization()`, `axis=-1`): every example's values
/// along the last axis are normalized with their own mean and biased variance, then scaled
/// by `gamma` and shifted by `beta` (one per position of the last axis). Unlike
/// ``BatchNormalization`` it has no moving statistics and computes the same in training
/// and inference mode; it takes examples of any rank.
///
/// The arithmetic is Keras's float32 expression: `inv = gamma · rsqrt(variance + epsilon)`,
/// `y = x · inv + (beta − mean · inv)`.
///
/// ```swift
/// let model = try Sequential(inputFeatures: 4, [Dense(units: 6), LayerNormalization(), Dense(units: 3)])
/// ```
public struct LayerNormalization: Layer {
    public static let namePrefix = "layer_normalization"
    public var name: String
    public var isTrainable = true
    /// Added to the variance before the square root, so constant rows do not divide by zero.
    public let epsilon: Double
    /// Whether a learned offset `beta` is added.
    public var center: Bool { affine.center }
    /// Whether a learned factor `gamma` multiplies.
    public var scale: Bool { affine.scale }
    public private(set) var inputShape: [Int]?
    /// The learned scale, one per position of the last axis (empty when `scale` is false).
    public var gamma: Tensor<Float> { affine.gamma }
    /// The learned offset, one per position of the last axis (empty when `center` is false).
    public var beta: Tensor<Float> { affine.beta }
    /// gamma and beta with their options, shared with ``GroupNormalization`` (NormalizationAffine.swift).
    private var affine: NormalizationAffine

    /// What backward needs: the input and each row's mean and `1 / sqrt(variance + epsilon)`.
    public struct Tape: Sendable {
        let input: Tensor<Float>
        let mean: [Float]
        let inverseStd: [Float]
    }

    /// Keras 3's defaults: epsilon 0.001, with gamma and beta.
    public init(epsilon: Double = 0.001, center: Bool = true, scale: Bool = true, name: String? = nil) {
        self.epsilon = epsilon
        affine = NormalizationAffine(center: center, scale: scale)
        self.name = name ?? ""
    }

    /// The input's shape: any rank, with a non-empty last axis.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        guard let features = inputShape.last, features > 0 else {
            throw TrainingError.shapeMismatch(layer: name, expected: [-1, -1], found: [-1] + inputShape)
        }
        return inputShape
    }

    public mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        _ = try outputShape(forInput: inputShape)
        try checkRebuild(inputShape)
        guard self.inputShape == nil else { return inputShape }
        self.inputShape = inputShape
        affine.build(features: inputShape[inputShape.count - 1])
        return inputShape
    }

    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tape> {
        guard inputShape != nil else {
            throw TrainingError.invalidArgument(layer: name, message: "the layer is not built (use it in a Sequential)")
        }
        try checkInput(input)
        let features = input.shape[input.rank - 1]
        let epsilon = Float(epsilon)
        var mean: [Float] = [], inverseStd: [Float] = []
        var output = input
        let gammaValues = gamma.scalars, betaValues = beta.scalars
        input.withUnsafeBufferPointer { x in
            let rows = x.count / features
            mean.reserveCapacity(rows)
            inverseStd.reserveCapacity(rows)
            output.withUnsafeMutableBufferPointer { y in
                for row in 0..<rows {
                    let values = UnsafeBufferPointer(rebasing: x[(row * features)..<((row + 1) * features)])
                    let (rowMean, variance) = Self.moments(values)
                    let inverse = 1 / (variance + epsilon).squareRoot()
                    mean.append(rowMean)
                    inverseStd.append(inverse)
                    for j in 0..<features {
                        y[row * features + j] = affine.apply(values[j], mean: rowMean, inverseStd: inverse,
                                                             gamma: gammaValues, beta: betaValues, position: j)
                    }
                }
            }
        }
        return LayerOutput(output: output, tape: Tape(input: input, mean: mean, inverseStd: inverseStd))
    }

    /// With `x̂ = (x − mean)·s` and `ĝ = upstream·gamma`, per row:
    /// `dx = s·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))`; `dgamma = Σ upstream·x̂`, `dbeta = Σ upstream`.
    public func backward(_ upstream: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard upstream.shape == tape.input.shape else {
            throw TrainingError.shapeMismatch(layer: name, expected: tape.input.shape, found: upstream.shape)
        }
        let features = upstream.shape[upstream.rank - 1]
        var gammaGradient = [Float](repeating: 0, count: features)
        var betaGradient = [Float](repeating: 0, count: features)
        var inputGradient = upstream
        var normalizedGradient = [Float](repeating: 0, count: features)
        let gammaValues = gamma.scalars
        tape.input.withUnsafeBufferPointer { x in
            upstream.withUnsafeBufferPointer { g in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    for row in 0..<tape.mean.count {
                        let offset = row * features, s = tape.inverseStd[row], m = tape.mean[row]
                        var sum: Float = 0, sumTimesNormalized: Float = 0
                        for j in 0..<features {
                            let normalized = (x[offset + j] - m) * s
                            gammaGradient[j] += g[offset + j] * normalized
                            betaGradient[j] += g[offset + j]
                            normalizedGradient[j] = scale ? g[offset + j] * gammaValues[j] : g[offset + j]
                            sum += normalizedGradient[j]
                            sumTimesNormalized += normalizedGradient[j] * normalized
                        }
                        guard needsInputGradient else { continue }
                        let meanGradient = sum / Float(features), meanProduct = sumTimesNormalized / Float(features)
                        for j in 0..<features {
                            let normalized = (x[offset + j] - m) * s
                            dx[offset + j] = s * (normalizedGradient[j] - meanGradient - normalized * meanProduct)
                        }
                    }
                }
            }
        }
        affine.store(gammaGradient: Tensor(gammaGradient), betaGradient: Tensor(betaGradient), isTrainable: isTrainable,
                     in: &gradients)
        return needsInputGradient ? inputGradient : nil
    }

    public var variables: [NamedVariable] { affine.variables(isTrainable: isTrainable) }

    /// Counts gamma and beta, present or not (the bound a config is checked against).
    public func parameterCount(forInput inputShape: [Int]) -> Int { 2 * (inputShape.last ?? 0) }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        try affine.setVariable(localName, to: value, layer: name)
    }

    public var checkpointAttributes: [(name: String, value: LayerAttribute)] { [("epsilon", .double(epsilon))] }

    /// A row's mean and biased variance, two-pass as `tf.nn.moments`.
    private static func moments(_ values: UnsafeBufferPointer<Float>) -> (mean: Float, variance: Float) {
        let count = Float(values.count)
        var sum: Float = 0
        for value in values { sum += value }
        let mean = sum / count
        var squares: Float = 0
        for value in values { squares += (value - mean) * (value - mean) }
        return (mean, squares / count)
    }
}

// MARK: Keras config

extension LayerNormalization {
    public static var kerasClassName: String? { "LayerNormalization" }
    public static var kerasRecordsBuildShape: Bool { true }

    /// Keras writes `axis` as the list `[-1]`; the integer `-1` Batchwise writes means the same to Keras.
    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        affine.encode(epsilon: epsilon, to: &config)
        config.set("rms_scaling", false)
    }

    /// Only the last axis (`-1` or `[-1]`) is supported; `rms_scaling` and regularizers are refused.
    public static func decodeKerasConfig<Config: KerasConfigReading>(
        _ config: Config, name: String
    ) throws -> LayerNormalization {
        try config.requireLastAxis()
        if let rms = config["rms_scaling"], try rms.bool() { throw KerasConfigProblem.unsupportedOption("rms_scaling", value: "true") }
        try config.refuseNonNull(["beta_regularizer", "gamma_regularizer"])
        let options = try NormalizationAffine.decode(config)
        return LayerNormalization(epsilon: options.epsilon, center: options.center, scale: options.scale, name: name)
    }
}
