import Tensors

/// Keras `Conv2D` on NHWC images: `y = activation(conv(x, kernel) + bias)` with a kernel in
/// Keras's layout `[kh, kw, in, filters]` (Glorot-uniform from a seeded
/// ``/Tensors/SplitMix64``, zero bias), strides, dilation and `"valid"` / `"same"` padding
/// placed as Keras places it (``Padding``).
///
/// Input `[N, H, W, in]`, output `[N, OH, OW, filters]`. The convolution unfolds the input
/// (im2col) and multiplies with one sgemm per chunk of images:
/// O(N·OH·OW·kh·kw·in·filters) forward, twice that backward. A training pass keeps the
/// unfolded patches (up to 64 MiB) for the kernel gradient. The first training pass in a
/// process also asks glibc to keep up to 512 MiB of freed heap instead of returning it to the
/// kernel, so the next step's buffers are not faulted in and zeroed again (docs/perf/conv.md).
///
/// ```swift
/// let model = try Sequential(inputShape: [8, 8, 1], [
///     Conv2D(filters: 8, kernelSize: Size2D(square: 3), padding: .same, activation: .relu),
///     Flatten(), Dense(units: 10, activation: .softmax),
/// ])
/// ```
public struct Conv2D: Layer {
    public static let namePrefix = "conv2d"
    public var name: String
    public var isTrainable = true
    /// The number of output channels.
    public let filters: Int
    /// The kernel's height and width.
    public let kernelSize: Size2D
    /// The step between windows along the height and width.
    public let strides: Size2D
    /// The spacing between kernel taps (Keras `dilation_rate`); strides and dilation cannot both exceed 1, as in Keras.
    public let dilationRate: Size2D
    /// How the border is treated.
    public let padding: Padding
    /// Applied after the convolution and bias.
    public let activation: Activation
    /// Whether a bias per filter is added.
    public let useBias: Bool
    /// The seed of the kernel initializer; `nil` takes one derived from the model's seed.
    public let seed: UInt64?
    public private(set) var inputShape: [Int]?
    /// `[kh, kw, in, filters]`, empty until built.
    public private(set) var kernel = Tensor<Float>(zeros: [0, 0, 0, 0])
    /// `[filters]` (present only with `useBias`).
    public private(set) var bias = Tensor<Float>(zeros: [0])
    private var geometry: WindowGeometry?

    /// What backward needs from a forward pass: the input and the activated output.
    public typealias Tape = ConvolutionTape

    /// A 2-D convolution; its input shape is fixed when ``Sequential`` builds it.
    /// - Parameters:
    ///   - filters: output channels.
    ///   - kernelSize: the window's height and width.
    ///   - strides: steps between windows (default 1x1).
    ///   - padding: `.valid` (Keras's default) or `.same`.
    ///   - dilationRate: spacing between taps (default 1x1).
    ///   - activation: applied after the bias; `.linear` leaves it out.
    ///   - useBias: `false` drops the bias variable.
    ///   - name: the layer's name; `nil` lets ``Sequential`` name it `conv2d`, `conv2d_1`, ...
    ///   - seed: kernel initializer seed.
    public init(filters: Int, kernelSize: Size2D, strides: Size2D = Size2D(1, 1), padding: Padding = .valid,
                dilationRate: Size2D = Size2D(1, 1), activation: Activation = .linear, useBias: Bool = true,
                name: String? = nil, seed: UInt64? = nil) {
        self.filters = filters
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.dilationRate = dilationRate
        self.activation = activation
        self.useBias = useBias
        self.name = name ?? ""
        self.seed = seed
    }

    /// The options this layer shares with ``DepthwiseConv2D`` (ConvolutionOptions.swift).
    private var options: ConvolutionOptions {
        ConvolutionOptions(kernelSize: kernelSize, strides: strides, dilationRate: dilationRate, padding: padding,
                           activation: activation, useBias: useBias)
    }

    /// The window placement for an input image, checking every option.
    private func makeGeometry(_ inputShape: [Int]) throws -> WindowGeometry {
        try options.geometry(forInput: inputShape, outputsPerChannel: filters, layer: self)
    }

    /// `[OH, OW, filters]`.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        let g = try makeGeometry(inputShape)
        return [g.outputHeight, g.outputWidth, filters]
    }

    public mutating func build(inputShape: [Int], seed derivedSeed: UInt64) throws -> [Int] {
        let g = try makeGeometry(inputShape)
        try checkRebuild(inputShape)
        let output = [g.outputHeight, g.outputWidth, filters]
        guard self.inputShape == nil else { return output }
        self.inputShape = inputShape
        geometry = g
        kernel = options.glorotKernel(channels: inputShape[2], outputs: filters, seed: seed ?? derivedSeed)
        bias = useBias ? Tensor(zeros: [filters]) : Tensor(zeros: [0])
        return output
    }

    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tape> {
        try checkImages(input)
        // A training pass keeps its patch matrix for the kernel gradient; inference does not need it.
        if mode == .training { FreedMemoryRetention.engage() }
        let (logits, patches) = ConvolutionMath.conv2D(input, kernel: kernel, bias: useBias ? bias : nil, geometry: geometry!,
                                                       keepingPatches: mode == .training && isTrainable)
        let output = activation.applied(to: logits)
        return LayerOutput(output: output, tape: ConvolutionTape(input: input, output: output, patches: patches), logits: logits)
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
        var result = ConvolutionMath.conv2DBackward(x: tape.input, kernel: kernel, upstream: dz, geometry: geometry!,
                                                    patches: tape.patches, wantsParameters: isTrainable, wantsBias: false,
                                                    wantsInput: needsInputGradient)
        if isTrainable && useBias {
            // Σ dz per filter in vector loops (the same sums, in the same row order, as Tensor.sumOverChannels).
            result.bias = Tensor(dz.withUnsafeBufferPointer { d in
                d.baseAddress.map { ChannelKernels.columnSums($0, rows: dz.scalarCount / filters, channels: filters) }
                    ?? [Float](repeating: 0, count: filters)
            })
        }
        return store(result, in: &gradients)
    }

    public var variables: [NamedVariable] { kernelVariables(kernel: kernel, bias: useBias ? bias : nil) }

    public func parameterCount(forInput inputShape: [Int]) -> Int {
        let channels = inputShape.last ?? 0
        return kernelSize.height * kernelSize.width * channels * filters + (useBias ? filters : 0)
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

/// What the backward pass of a convolution layer needs from its forward pass: the input,
/// the activated output and, when a training pass kept it, the input's patch matrix.
public struct ConvolutionTape: Sendable {
    let input: Tensor<Float>
    let output: Tensor<Float>
    var patches: [Float]? = nil
}

extension Layer {
    /// Checks that an upstream gradient has the output's shape.
    func checkUpstream(_ upstream: Tensor<Float>, output: Tensor<Float>) throws {
        guard upstream.shape == output.shape else {
            throw TrainingError.shapeMismatch(layer: name, expected: output.shape, found: upstream.shape)
        }
    }

    /// ∂L/∂logits from ∂L/∂output through `activation`, checking the upstream shape.
    func logitGradient(_ upstream: Tensor<Float>, output: Tensor<Float>, activation: Activation) throws -> Tensor<Float> {
        try checkUpstream(upstream, output: output)
        if activation == .relu { return ReLUGradientKernel.masked(upstream, output: output) }
        var dz = upstream
        activation.backward(output: output, gradient: &dz)
        return dz
    }

    /// `kernel` and, when present, `bias`, trainable with the layer.
    func kernelVariables(kernel: Tensor<Float>, bias: Tensor<Float>?) -> [NamedVariable] {
        [NamedVariable(name: "kernel", value: kernel, isTrainable: isTrainable)]
            + (bias.map { [NamedVariable(name: "bias", value: $0, isTrainable: isTrainable)] } ?? [])
    }

    /// Stores a kernel backward's parameter gradients and returns its input gradient.
    func store(_ result: (input: Tensor<Float>?, kernel: Tensor<Float>?, bias: Tensor<Float>?),
               in gradients: inout LayerGradients) -> Tensor<Float>? {
        gradients["kernel"] = result.kernel
        gradients["bias"] = result.bias
        return result.input
    }

    /// `setVariable` for a layer with a `kernel` and an optional `bias`, checking shapes.
    func replaceKernelOrBias(_ localName: String, _ value: Tensor<Float>, kernel: inout Tensor<Float>,
                             bias: inout Tensor<Float>, useBias: Bool) throws {
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
}

// MARK: Keras config

extension Conv2D {
    public static var kerasClassName: String? { "Conv2D" }
    public static var kerasRecordsBuildShape: Bool { true }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("filters", filters)
        config.set("groups", 1)
        options.encode(to: &config, kernelKey: "kernel")
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> Conv2D {
        let filters = try config.required("filters").integer()
        guard (1...config.maximumWidth).contains(filters) else {
            throw KerasConfigProblem.invalidOption("filters", message: "\(filters) is outside 1...\(config.maximumWidth)")
        }
        try config.requireChannelsLast()
        try config.refuseNonNull(["kernel_regularizer", "bias_regularizer", "activity_regularizer", "quantization_config"])
        if let groups = config["groups"], (try? groups.integer()) != 1 {
            throw KerasConfigProblem.unsupportedOption("groups", value: groups.text)
        }
        let options = try ConvolutionOptions.decode(config)
        return Conv2D(filters: filters, kernelSize: options.kernelSize, strides: options.strides, padding: options.padding,
                      dilationRate: options.dilationRate, activation: options.activation, useBias: options.useBias, name: name)
    }
}
