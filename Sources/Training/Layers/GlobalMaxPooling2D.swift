import Tensors

/// Keras `GlobalMaxPooling2D` (`keepdims=False`): the largest value of each channel over the image (backward routes to the first maximum).
///
/// Input `[N, H, W, C]`, output `[N, C]`; O(N·H·W·C) forward and backward.
///
/// ```swift
/// let model = try Sequential(inputShape: [8, 8, 1], [Conv2D(filters: 4, kernelSize: Size2D(square: 3)),
///                                                   GlobalMaxPooling2D(), Dense(units: 10)])
/// ```
public struct GlobalMaxPooling2D: Layer {
    public static let namePrefix = "global_max_pooling2d"
    public var name: String
    public var isTrainable = true
    public private(set) var inputShape: [Int]?

    /// What backward needs from a forward pass.
    public struct Tape: Sendable {
        let inputShape: [Int]
        let argmax: [Int]
    }

    /// A global pooling layer; named `global_max_pooling2d`, ... unless `name` is given.
    public init(name: String? = nil) { self.name = name ?? "" }

    /// `[C]`.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        try GlobalPooling2D.outputShape(forInput: inputShape, layer: self)
    }

    public mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        let output = try outputShape(forInput: inputShape)
        try checkRebuild(inputShape)
        self.inputShape = inputShape
        return output
    }

    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tape> {
        try checkImages(input)
        let (output, argmax) = PoolingMath.globalMaxPool(input)
        return LayerOutput(output: output, tape: Tape(inputShape: input.shape, argmax: argmax))
    }

    public func backward(_ upstream: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard needsInputGradient else { return nil }
        try GlobalPooling2D.checkUpstream(upstream, batchInputShape: tape.inputShape, layer: self)
        return PoolingMath.maxPoolBackward(upstream: upstream, argmax: tape.argmax, inputShape: tape.inputShape)
    }

    public var variables: [NamedVariable] { [] }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
    }
}

// MARK: Keras config

extension GlobalMaxPooling2D {
    public static var kerasClassName: String? { "GlobalMaxPooling2D" }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        GlobalPooling2D.encode(to: &config)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> GlobalMaxPooling2D {
        try GlobalPooling2D.checkKerasConfig(config)
        return GlobalMaxPooling2D(name: name)
    }
}
