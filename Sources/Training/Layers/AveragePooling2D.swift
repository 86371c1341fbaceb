import Tensors

/// Keras `AveragePooling2D` on NHWC images: per channel, the mean of the window cells inside the image (with `.same` padding, border windows divide by their count of valid cells, as TensorFlow).
///
/// Input `[N, H, W, C]`, output `[N, OH, OW, C]`; O(N·OH·OW·pool·C) forward and backward.
///
/// ```swift
/// let pool = AveragePooling2D(poolSize: Size2D(square: 2))   // strides default to the pool size
/// ```
public struct AveragePooling2D: Layer {
    public static let namePrefix = "average_pooling2d"
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

    /// What backward needs from a forward pass: the input shape.
    public struct Tape: Sendable {
        let inputShape: [Int]
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
        return LayerOutput(output: PoolingMath.averagePool(input, geometry: geometry!), tape: Tape(inputShape: input.shape))
    }

    public func backward(_ upstream: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard needsInputGradient else { return nil }
        try options.checkUpstream(upstream, batchInputShape: tape.inputShape, layer: self)
        return PoolingMath.averagePoolBackward(upstream: upstream, inputShape: tape.inputShape, geometry: geometry!)
    }

    public var variables: [NamedVariable] { [] }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
    }
}

// MARK: Keras config

extension AveragePooling2D {
    public static var kerasClassName: String? { "AveragePooling2D" }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        options.encode(to: &config)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> AveragePooling2D {
        let options = try Pooling2DOptions.decode(config)
        return AveragePooling2D(poolSize: options.poolSize, strides: options.strides, padding: options.padding, name: name)
    }
}
