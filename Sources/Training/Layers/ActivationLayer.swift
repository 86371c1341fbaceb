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
    public private(set) var inputFeatures: Int?
    private var cachedOutput: Tensor<Float>?
    private var cachedInput: Tensor<Float>?

    /// An activation as its own layer (Keras `Activation(...)`), named `activation`, `activation_1`, ... unless `name` is given.
    public init(_ activation: Activation, name: String? = nil) {
        self.activation = activation
        self.name = name ?? ""
    }

    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }

    public mutating func build(inputFeatures: Int, seed: UInt64) throws -> Int {
        self.inputFeatures = inputFeatures
        return inputFeatures
    }

    public func callAsFunction(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try checkInput(input)
        return activation.applied(to: input)
    }

    public mutating func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        let y = try self(input, mode: mode)
        cachedInput = input
        cachedOutput = y
        return y
    }

    public mutating func backward(_ upstream: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard needsInputGradient else { return nil }
        guard let cachedOutput else { throw TrainingError.missingGradients(layer: name) }
        guard upstream.shape == cachedOutput.shape else {
            throw TrainingError.shapeMismatch(layer: name, expected: cachedOutput.shape, found: upstream.shape)
        }
        var g = upstream
        activation.backward(output: cachedOutput, gradient: &g)
        return g
    }

    public var outputActivation: Activation? { activation }
    public var lastLogits: Tensor<Float>? { cachedInput }
    public mutating func backward(logitGradient: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        needsInputGradient ? logitGradient : nil
    }
    public func logits(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float>? { input }

    public var variables: [NamedVariable] { [] }
    public var gradients: [NamedVariable] { [] }
    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
    }
    public mutating func updateTrainableVariables(
        _ update: (_ value: inout Tensor<Float>, _ gradient: Tensor<Float>) throws -> Void
    ) throws {}
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
