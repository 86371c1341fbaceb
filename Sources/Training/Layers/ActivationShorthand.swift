import Tensors

/// What ``ReLU`` and ``Softmax`` share: each is an ``ActivationLayer`` under its own Keras
/// class name and naming prefix, so every ``Layer`` requirement forwards to that base.
/// Public only because Swift requires public witnesses; not meant for conformance elsewhere.
public protocol _ActivationShorthand: Layer {
    var _base: ActivationLayer { get set }
}

extension _ActivationShorthand {
    public var name: String {
        get { _base.name }
        set { _base.name = newValue }
    }
    public var isTrainable: Bool {
        get { _base.isTrainable }
        set { _base.isTrainable = newValue }
    }
    public var inputFeatures: Int? { _base.inputFeatures }
    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }
    public mutating func build(inputFeatures: Int, seed: UInt64) throws -> Int {
        try _base.build(inputFeatures: inputFeatures, seed: seed)
    }
    public func callAsFunction(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try _base(input, mode: mode)
    }
    public mutating func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try _base.forward(input, mode: mode)
    }
    public mutating func backward(_ upstream: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        try _base.backward(upstream, needsInputGradient: needsInputGradient)
    }
    public var outputActivation: Activation? { _base.outputActivation }
    public var lastLogits: Tensor<Float>? { _base.lastLogits }
    public mutating func backward(logitGradient: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        try _base.backward(logitGradient: logitGradient, needsInputGradient: needsInputGradient)
    }
    public func logits(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float>? {
        try _base.logits(input, mode: mode)
    }
    public var variables: [NamedVariable] { [] }
    public var gradients: [NamedVariable] { [] }
    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        try _base.setVariable(localName, to: value)
    }
    public mutating func updateTrainableVariables(
        _ update: (_ value: inout Tensor<Float>, _ gradient: Tensor<Float>) throws -> Void
    ) throws {}
}
