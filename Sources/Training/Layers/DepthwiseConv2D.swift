import Tensors

/// Keras `DepthwiseConv2D` on NHWC images: each input channel `c` is convolved with its
/// own `depthMultiplier` filters, giving output channel `c·depthMultiplier + m`. Kernel in
/// Keras's layout `[kh, kw, in, depthMultiplier]` (Glorot-uniform, zero bias).
///
/// Input `[N, H, W, in]`, output `[N, OH, OW, in·depthMultiplier]`;
/// O(N·OH·OW·kh·kw·in·depthMultiplier) forward and backward, in direct loops over the
/// contiguous channels (there is no inner product long enough for sgemm to pay off).
///
/// ```swift
/// let depthwise = DepthwiseConv2D(kernelSize: Size2D(square: 3), padding: .same, depthMultiplier: 2)
/// ```
public struct DepthwiseConv2D: Layer {
    public static let namePrefix = "depthwise_conv2d"
    public var name: String
    public var isTrainable = true
    /// The kernel's height and width.
    public let kernelSize: Size2D
    /// Output channels per input channel.
    public let depthMultiplier: Int
    /// The step between windows.
    public let strides: Size2D
    /// The spacing between kernel taps.
    public let dilationRate: Size2D
    /// How the border is treated.
    public let padding: Padding
    /// Applied after the convolution and bias.
    public let activation: Activation
    /// Whether a bias per output channel is added.
    public let useBias: Bool
    /// The seed of the kernel initializer; `nil` takes one derived from the model's seed.
    public let seed: UInt64?
    public private(set) var inputShape: [Int]?
    /// `[kh, kw, in, depthMultiplier]`, empty until built.
    public private(set) var kernel = Tensor<Float>(zeros: [0, 0, 0, 0])
    /// `[in·depthMultiplier]` (present only with `useBias`).
    public private(set) var bias = Tensor<Float>(zeros: [0])
    private var geometry: WindowGeometry?

    /// What backward needs from a forward pass: the input and the activated output.
    public typealias Tape = ConvolutionTape

    /// A depthwise convolution; options as ``Conv2D``'s, with `depthMultiplier` in place of filters.
    public init(kernelSize: Size2D, strides: Size2D = Size2D(1, 1), padding: Padding = .valid, depthMultiplier: Int = 1,
                dilationRate: Size2D = Size2D(1, 1), activation: Activation = .linear, useBias: Bool = true,
                name: String? = nil, seed: UInt64? = nil) {
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.depthMultiplier = depthMultiplier
        self.dilationRate = dilationRate
        self.activation = activation
        self.useBias = useBias
        self.name = name ?? ""
        self.seed = seed
    }

    /// The options this layer shares with ``Conv2D`` (ConvolutionOptions.swift).
    private var options: ConvolutionOptions {
        ConvolutionOptions(kernelSize: kernelSize, strides: strides, dilationRate: dilationRate, padding: padding,
                           activation: activation, useBias: useBias)
    }

    /// The window placement for an input image, checking every option.
    private func makeGeometry(_ inputShape: [Int]) throws -> WindowGeometry {
        try options.geometry(forInput: inputShape, outputsPerChannel: depthMultiplier, layer: self)
    }

    /// `[OH, OW, in·depthMultiplier]`.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        let g = try makeGeometry(inputShape)
        return [g.outputHeight, g.outputWidth, inputShape[2] * depthMultiplier]
    }

    public mutating func build(inputShape: [Int], seed derivedSeed: UInt64) throws -> [Int] {
        let output = try outputShape(forInput: inputShape)
        try checkRebuild(inputShape)
        guard self.inputShape == nil else { return output }
        let channels = inputShape[2]
        self.inputShape = inputShape
        geometry = try makeGeometry(inputShape)
        kernel = options.glorotKernel(channels: channels, outputs: depthMultiplier, seed: seed ?? derivedSeed)
        bias = useBias ? Tensor(zeros: [channels * depthMultiplier]) : Tensor(zeros: [0])
        return output
    }

    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tape> {
        try checkImages(input)
        let logits = ConvolutionMath.depthwiseConv2D(input, kernel: kernel, bias: useBias ? bias : nil, geometry: geometry!)
        let output = activation.applied(to: logits)
        return LayerOutput(output: output, tape: ConvolutionTape(input: input, output: output), logits: logits)
    }

    public func backward(_ upstream: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        let dz = try logitGradient(upstream, output: tape.output, activation: activation)
        return try backward(logitGradient: dz, tape: tape, gradients: &gradients, needsInputGradient: needsInputGradient)
    }

    public var outputActivation: Activation? { activation }

    public func backward(logitGradient dz: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        try checkUpstream(dz, output: tape.output)
        let result = ConvolutionMath.depthwiseConv2DBackward(x: tape.input, kernel: kernel, upstream: dz, geometry: geometry!,
                                                             wantsParameters: isTrainable, wantsBias: useBias,
                                                             wantsInput: needsInputGradient)
        return store(result, in: &gradients)
    }

    public var variables: [NamedVariable] { kernelVariables(kernel: kernel, bias: useBias ? bias : nil) }

    public func parameterCount(forInput inputShape: [Int]) -> Int {
        let channels = inputShape.last ?? 0
        return (kernelSize.height * kernelSize.width + (useBias ? 1 : 0)) * channels * depthMultiplier
    }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        try replaceKernelOrBias(localName, value, kernel: &kernel, bias: &bias, useBias: useBias)
    }

    /// Updates the kernel and bias in place.
    public mutating func updateTrainableVariables(
        _ update: (_ localName: String, _ value: inout Tensor<Float>) throws -> Void
    ) throws {
        guard isTrainable else { return }
        try update("kernel", &kernel)
        if useBias { try update("bias", &bias) }
    }
}

// MARK: Keras config

extension DepthwiseConv2D {
    public static var kerasClassName: String? { "DepthwiseConv2D" }
    public static var kerasRecordsBuildShape: Bool { true }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("depth_multiplier", depthMultiplier)
        options.encode(to: &config, kernelKey: "depthwise")
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> DepthwiseConv2D {
        let multiplier = try config["depth_multiplier"]?.integer() ?? 1
        guard (1...config.maximumWidth).contains(multiplier) else {
            throw KerasConfigProblem.invalidOption("depth_multiplier", message: "\(multiplier) is outside 1...\(config.maximumWidth)")
        }
        try config.requireChannelsLast()
        try config.refuseNonNull(["depthwise_regularizer", "bias_regularizer", "activity_regularizer"])
        let options = try ConvolutionOptions.decode(config)
        return DepthwiseConv2D(kernelSize: options.kernelSize, strides: options.strides, padding: options.padding,
                               depthMultiplier: multiplier, dilationRate: options.dilationRate, activation: options.activation,
                               useBias: options.useBias, name: name)
    }
}
