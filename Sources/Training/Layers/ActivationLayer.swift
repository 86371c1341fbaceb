import Tensors

/// An activation as a layer of its own (Keras `Activation("relu")`); ``ReLU`` and
/// ``Softmax`` are the named shorthands.
///
/// ```swift
/// let model = try Sequential(inputFeatures: 6, [Dense(units: 16), ActivationLayer(.relu)])
/// ```
public struct ActivationLayer: Layer {
    public static let namePrefix = "activation"
    public var name: String
    public var isTrainable = true
    /// The function applied to every element (softmax: to every row).
    public let activation: Activation
    public private(set) var inputShape: [Int]?

    /// What backward needs: the output (the activation's derivative is taken from it).
    public struct Tape: Sendable {
        let output: Tensor<Float>
    }

    /// An activation as its own layer (Keras `Activation(...)`), named `activation`, `activation_1`, ... unless `name` is given.
    public init(_ activation: Activation, name: String? = nil) {
        self.activation = activation
        self.name = name ?? ""
    }

    /// Any shape (softmax runs over the last axis); the output has the input's.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] { inputShape }

    public mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        self.inputShape = inputShape
        return inputShape
    }

    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tape> {
        try checkInput(input)
        let output = activation.applied(to: input)
        return LayerOutput(output: output, tape: Tape(output: output), logits: input)
    }

    public func backward(_ upstream: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard needsInputGradient else { return nil }
        guard upstream.shape == tape.output.shape else {
            throw TrainingError.shapeMismatch(layer: name, expected: tape.output.shape, found: upstream.shape)
        }
        // relu, the common case in CNNs, has a branch-free out-of-place kernel.
        if activation == .relu { return ReLUGradientKernel.masked(upstream, output: tape.output) }
        var g = upstream
        activation.backward(output: tape.output, gradient: &g)
        return g
    }

    public var outputActivation: Activation? { activation }
    public func backward(logitGradient: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        needsInputGradient ? logitGradient : nil
    }

    public var variables: [NamedVariable] { [] }
    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
    }
}

// MARK: Keras config

extension ActivationLayer {
    public static var kerasClassName: String? { "Activation" }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("activation", activation.kerasName)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(
        _ config: Config, name: String
    ) throws -> ActivationLayer {
        ActivationLayer(try config.activation(), name: name)
    }
}
