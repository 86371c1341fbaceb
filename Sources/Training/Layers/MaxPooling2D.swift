import Tensors

/// Keras `MaxPooling2D` on NHWC images: per channel, the largest value under each window (cells in the padding take no part).
///
/// Input `[N, H, W, C]`, output `[N, OH, OW, C]`; O(N·OH·OW·pool·C); backward routes each gradient to the first maximum of its window.
///
/// ```swift
/// let pool = MaxPooling2D(poolSize: Size2D(square: 2))   // strides default to the pool size
/// ```
public struct MaxPooling2D: Layer {
    public static let namePrefix = "max_pooling2d"
    public var name: String
    public var isTrainable = true
    /// The window's height and width.
    public var poolSize: Size2D { options.poolSize }
    /// The step between windows.
    public var strides: Size2D { options.strides }
    /// How the border is treated.
    public var padding: Padding { options.padding }
    public private(set) var inputShape: [Int]?
    private let options: Pooling2DOptions
    private var geometry: WindowGeometry?

    /// What backward needs from a forward pass: the input shape and which window cell each maximum came from.
    public struct Tape: Sendable {
        let inputShape: [Int]
        let cells: [Int32]
    }

    /// A pooling layer; `strides` default to `poolSize` and `padding` to `.valid`, as in Keras.
    public init(poolSize: Size2D = Size2D(square: 2), strides: Size2D? = nil, padding: Padding = .valid, name: String? = nil) {
        options = Pooling2DOptions(poolSize: poolSize, strides: strides ?? poolSize, padding: padding)
        self.name = name ?? ""
    }

    /// `[OH, OW, C]`.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        try options.placement(forInput: inputShape, layer: self).outputShape
    }

    public mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        let placement = try options.placement(forInput: inputShape, layer: self)
        try checkRebuild(inputShape)
        self.inputShape = inputShape
        geometry = placement.geometry
        return placement.outputShape
    }

    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tape> {
        try checkImages(input)
        let (output, cells) = MaxPoolKernel.forward(input, geometry: geometry!)
        return LayerOutput(output: output, tape: Tape(inputShape: input.shape, cells: cells))
    }

    public func backward(_ upstream: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard needsInputGradient else { return nil }
        try options.checkUpstream(upstream, batchInputShape: tape.inputShape, layer: self)
        return MaxPoolKernel.backward(upstream: upstream, cells: tape.cells, inputShape: tape.inputShape, geometry: geometry!)
    }

    public var variables: [NamedVariable] { [] }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
    }
}

// MARK: Keras config

extension MaxPooling2D {
    public static var kerasClassName: String? { "MaxPooling2D" }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        options.encode(to: &config)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> MaxPooling2D {
        let options = try Pooling2DOptions.decode(config)
        return MaxPooling2D(poolSize: options.poolSize, strides: options.strides, padding: options.padding, name: name)
    }
}
