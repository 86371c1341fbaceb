import Tensors

/// A fully connected layer: `y = activation(x · kernel + bias)` with a Keras-layout kernel
/// `[in, out]`, Glorot-uniform initialized from a seeded ``/Tensors/SplitMix64`` and a zero bias.
///
/// ```swift
/// let model = try Sequential(inputFeatures: 4, [
///     Dense(units: 8, activation: .relu),
///     Dense(units: 1, activation: .sigmoid, seed: 42),
/// ])
/// ```
public struct Dense: Layer {
    public static let namePrefix = "dense"
    public var name: String
    public var isTrainable = true
    /// The output width.
    public let units: Int
    /// Applied after the affine map; with a sigmoid or softmax output the loss uses the logits instead, as Keras does.
    public let activation: Activation
    /// Whether a bias vector is added.
    public let useBias: Bool
    /// The seed of the kernel initializer; `nil` takes one derived from the model's seed.
    public let seed: UInt64?
    public private(set) var inputFeatures: Int?
    /// `[in, out]`, empty until built.
    public private(set) var kernel = Tensor<Float>(zeros: [0, 0])
    /// `[out]` (present only with `useBias`).
    public private(set) var bias = Tensor<Float>(zeros: [0])

    private var cachedInput: Tensor<Float>?
    private var cachedLogits: Tensor<Float>?
    private var cachedOutput: Tensor<Float>?
    private var kernelGradient: Tensor<Float>?
    private var biasGradient: Tensor<Float>?

    /// A dense layer; its input width is fixed when ``Sequential`` builds it (or now, with
    /// `inputSize`).
    /// - Parameters:
    ///   - units: the output width.
    ///   - activation: applied after the affine map; `.linear` (the default) leaves it out.
    ///   - useBias: `false` drops the bias variable, as Keras's `use_bias=False` does.
    ///   - name: the layer's name in checkpoints and summaries; `nil` lets ``Sequential``
    ///     name it like Keras (`dense`, `dense_1`, ...).
    ///   - inputSize: builds the layer at once (otherwise ``Sequential`` builds it).
    ///   - seed: kernel initializer seed; two layers built with the same seed and shape are equal.
    public init(units: Int, activation: Activation = .linear, useBias: Bool = true,
                inputSize: Int? = nil, name: String? = nil, seed: UInt64? = nil) {
        precondition(units > 0, "Dense needs a positive number of units, got \(units)")
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.name = name ?? ""
        self.seed = seed
        if let inputSize { _ = try? build(inputFeatures: inputSize, seed: 0) }
    }

    public func outputFeatures(forInput inputFeatures: Int) -> Int { units }

    public mutating func build(inputFeatures: Int, seed derivedSeed: UInt64) throws -> Int {
        guard inputFeatures > 0 else {
            throw TrainingError.invalidArgument(layer: name, message: "input width must be positive, got \(inputFeatures)")
        }
        if let built = self.inputFeatures {
            guard built == inputFeatures else {
                throw TrainingError.shapeMismatch(layer: name, expected: [-1, built], found: [-1, inputFeatures])
            }
            return units
        }
        self.inputFeatures = inputFeatures
        kernel = DenseMath.glorotUniform(fanIn: inputFeatures, fanOut: units, seed: seed ?? derivedSeed)
        bias = useBias ? Tensor(zeros: [units]) : Tensor(zeros: [0])
        return units
    }

    public func callAsFunction(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try pass(input, keepingLogits: false).output
    }

    public mutating func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        let (y, z) = try pass(input, keepingLogits: true)
        cachedInput = input
        cachedLogits = z
        cachedOutput = y
        return y
    }

    /// The one forward computation. Without `keepingLogits` the activation runs in place on
    /// the logits, saving a copy that only backward needs.
    private func pass(_ input: Tensor<Float>, keepingLogits: Bool) throws -> (output: Tensor<Float>, logits: Tensor<Float>?) {
        var z = try logitsUnchecked(input)
        if keepingLogits { return (activation.applied(to: z), z) }
        activation.apply(inPlace: &z)
        return (z, nil)
    }

    public mutating func backward(_ upstream: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard let output = cachedOutput else { throw TrainingError.missingGradients(layer: name) }
        var dz = upstream
        activation.backward(output: output, gradient: &dz)
        return try backwardFromLogits(dz, needsInputGradient: needsInputGradient)
    }

    public var outputActivation: Activation? { activation }
    public var lastLogits: Tensor<Float>? { cachedLogits }

    public mutating func backward(logitGradient: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        try backwardFromLogits(logitGradient, needsInputGradient: needsInputGradient)
    }

    public func logits(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float>? {
        try logitsUnchecked(input)
    }

    public var variables: [NamedVariable] {
        var out = [NamedVariable(name: "kernel", value: kernel, isTrainable: isTrainable)]
        if useBias { out.append(NamedVariable(name: "bias", value: bias, isTrainable: isTrainable)) }
        return out
    }

    public func parameterCount(forInput inputFeatures: Int) -> Int {
        inputFeatures * units + (useBias ? units : 0)
    }

    public var gradients: [NamedVariable] {
        var out: [NamedVariable] = []
        if let kernelGradient { out.append(NamedVariable(name: "kernel", value: kernelGradient, isTrainable: true)) }
        if let biasGradient { out.append(NamedVariable(name: "bias", value: biasGradient, isTrainable: true)) }
        return out
    }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        switch localName {
        case "kernel":
            guard value.shape == kernel.shape else {
                throw TrainingError.shapeMismatch(layer: "\(name)/kernel", expected: kernel.shape, found: value.shape)
            }
            kernel = value
        case "bias" where useBias:
            guard value.shape == bias.shape else {
                throw TrainingError.shapeMismatch(layer: "\(name)/bias", expected: bias.shape, found: value.shape)
            }
            bias = value
        default:
            throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: variables.map { "\(name)/\($0.name)" })
        }
    }

    public mutating func updateTrainableVariables(
        _ update: (_ value: inout Tensor<Float>, _ gradient: Tensor<Float>) throws -> Void
    ) throws {
        guard isTrainable else { return }
        guard let kernelGradient, !useBias || biasGradient != nil else {
            throw TrainingError.missingGradients(layer: name)
        }
        try update(&kernel, kernelGradient)
        if useBias, let biasGradient { try update(&bias, biasGradient) }
    }

    private func logitsUnchecked(_ input: Tensor<Float>) throws -> Tensor<Float> {
        guard let inputFeatures else {
            throw TrainingError.invalidArgument(layer: name, message: "the layer is not built (give inputSize or use it in a Sequential)")
        }
        guard input.rank == 2, input.shape[1] == inputFeatures else {
            throw TrainingError.shapeMismatch(layer: name, expected: [-1, inputFeatures], found: input.shape)
        }
        return DenseMath.affine(input, kernel: kernel, bias: useBias ? bias : nil)
    }

    private mutating func backwardFromLogits(_ dz: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard let input = cachedInput else { throw TrainingError.missingGradients(layer: name) }
        guard dz.shape == [input.shape[0], units] else {
            throw TrainingError.shapeMismatch(layer: name, expected: [input.shape[0], units], found: dz.shape)
        }
        return DenseMath.backward(x: input, kernel: kernel, dz: dz, kernelGradient: &kernelGradient,
                                  biasGradient: &biasGradient, wantsParameters: isTrainable,
                                  wantsBias: useBias, wantsInput: needsInputGradient)
    }
}

// MARK: Keras config

extension Dense {
    public static var kerasClassName: String? { "Dense" }
    public static var kerasRecordsBuildShape: Bool { true }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("units", units)
        config.set("activation", activation.kerasName)
        config.set("use_bias", useBias)
        config.setInitializer("kernel_initializer", className: "GlorotUniform", seeded: true)
        config.setInitializer("bias_initializer", className: "Zeros", seeded: false)
        for key in ["kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"] { config.setNull(key) }
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> Dense {
        let units = try config.required("units").integer()
        guard (1...config.maximumWidth).contains(units) else {
            throw KerasConfigProblem.invalidOption("units", message: "\(units) is outside 1...\(config.maximumWidth)")
        }
        try config.refuseNonNull(["kernel_regularizer", "bias_regularizer", "quantization_config"])
        if let rank = config["lora_rank"], (try? rank.integer()) != 0 {
            throw KerasConfigProblem.unsupportedOption("lora_rank", value: rank.text)
        }
        let useBias = try config["use_bias"]?.bool() ?? true
        return Dense(units: units, activation: try config.activation(), useBias: useBias, name: name)
    }
}
