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
    public private(set) var inputShape: [Int]?
    /// `[in, out]`, empty until built.
    public private(set) var kernel = Tensor<Float>(zeros: [0, 0])
    /// `[out]` (present only with `useBias`).
    public private(set) var bias = Tensor<Float>(zeros: [0])

    /// What backward needs: the input and the output (the activation's derivative is taken from it).
    public struct Tape: Sendable {
        let input: Tensor<Float>
        let output: Tensor<Float>
    }

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
        if let inputSize { _ = try? build(inputShape: [inputSize], seed: 0) }
    }

    /// `[units]`; the input must be `[features]` (Dense works on rank-2 batches for now).
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        _ = try featureCount(of: inputShape)
        return [units]
    }

    public mutating func build(inputShape: [Int], seed derivedSeed: UInt64) throws -> [Int] {
        let inputFeatures = try featureCount(of: inputShape)
        try checkRebuild(inputShape)
        guard self.inputShape == nil else { return [units] }
        self.inputShape = inputShape
        kernel = DenseMath.glorotUniform(fanIn: inputFeatures, fanOut: units, seed: seed ?? derivedSeed)
        bias = useBias ? Tensor(zeros: [units]) : Tensor(zeros: [0])
        return [units]
    }

    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tape> {
        guard inputShape != nil else {
            throw TrainingError.invalidArgument(layer: name, message: "the layer is not built (give inputSize or use it in a Sequential)")
        }
        try checkInput(input)
        let logits = DenseMath.affine(input, kernel: kernel, bias: useBias ? bias : nil)
        let output = activation.applied(to: logits)
        return LayerOutput(output: output, tape: Tape(input: input, output: output), logits: logits)
    }

    public func backward(_ upstream: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard upstream.shape == tape.output.shape else {
            throw TrainingError.shapeMismatch(layer: name, expected: tape.output.shape, found: upstream.shape)
        }
        var dz = upstream
        activation.backward(output: tape.output, gradient: &dz)
        return try backward(logitGradient: dz, tape: tape, gradients: &gradients, needsInputGradient: needsInputGradient)
    }

    public var outputActivation: Activation? { activation }

    public func backward(logitGradient dz: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard dz.shape == [tape.input.shape[0], units] else {
            throw TrainingError.shapeMismatch(layer: name, expected: [tape.input.shape[0], units], found: dz.shape)
        }
        var kernelGradient = gradients.reusableBuffer("kernel")
        var biasGradient = gradients.reusableBuffer("bias")
        let dx = DenseMath.backward(x: tape.input, kernel: kernel, dz: dz, kernelGradient: &kernelGradient,
                                    biasGradient: &biasGradient, wantsParameters: isTrainable,
                                    wantsBias: useBias, wantsInput: needsInputGradient)
        // Moved in, not copied: a copy retained and released both of each tensor's buffers.
        gradients["kernel"] = kernelGradient.take()
        gradients["bias"] = biasGradient.take()
        return dx
    }

    public var variables: [NamedVariable] {
        var out = [NamedVariable(name: "kernel", value: kernel, isTrainable: isTrainable)]
        if useBias { out.append(NamedVariable(name: "bias", value: bias, isTrainable: isTrainable)) }
        return out
    }

    public func parameterCount(forInput inputShape: [Int]) -> Int {
        let inputFeatures = inputShape.reduce(1, *)
        return inputFeatures * units + (useBias ? units : 0)
    }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        switch localName {
        case "kernel": try Self.replace(&kernel, with: value, layer: name, localName: localName)
        case "bias" where useBias: try Self.replace(&bias, with: value, layer: name, localName: localName)
        default:
            throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: variables.map { "\(name)/\($0.name)" })
        }
    }

    /// Updates the kernel and bias in place (no copy of a uniquely held variable).
    public mutating func updateTrainableVariables(
        _ update: (_ localName: String, _ value: inout Tensor<Float>) throws -> Void
    ) throws {
        guard isTrainable else { return }
        try update("kernel", &kernel)
        if useBias { try update("bias", &bias) }
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
