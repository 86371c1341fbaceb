import Tensors

/// A layer that is one fixed ``ActivationLayer`` under its own Keras class name and naming
/// prefix, as ``ReLU`` (`ActivationLayer(.relu)`) and ``Softmax`` (`ActivationLayer(.softmax)`)
/// are: every ``Layer`` requirement forwards to ``activationLayer``.
///
/// It is public because Swift requires the shared `Layer` witnesses to be public. A new
/// shorthand (a Keras `ELU` layer, say) would conform the same way:
///
/// ```swift
/// let relu = ReLU()
/// print(relu.activationLayer.activation)   // relu
/// ```
public protocol ActivationLayerShorthand: Layer {
    /// The activation layer every ``Layer`` requirement forwards to.
    var activationLayer: ActivationLayer { get set }
}

extension ActivationLayerShorthand {
    public var name: String {
        get { activationLayer.name }
        set { activationLayer.name = newValue }
    }
    public var isTrainable: Bool {
        get { activationLayer.isTrainable }
        set { activationLayer.isTrainable = newValue }
    }
    public var inputFeatures: Int? { activationLayer.inputFeatures }
    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }
    public mutating func build(inputFeatures: Int, seed: UInt64) throws -> Int {
        try activationLayer.build(inputFeatures: inputFeatures, seed: seed)
    }
    public func callAsFunction(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try activationLayer(input, mode: mode)
    }
    public mutating func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try activationLayer.forward(input, mode: mode)
    }
    public mutating func backward(_ upstream: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        try activationLayer.backward(upstream, needsInputGradient: needsInputGradient)
    }
    public var outputActivation: Activation? { activationLayer.outputActivation }
    public var lastLogits: Tensor<Float>? { activationLayer.lastLogits }
    public mutating func backward(logitGradient: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        try activationLayer.backward(logitGradient: logitGradient, needsInputGradient: needsInputGradient)
    }
    public func logits(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float>? {
        try activationLayer.logits(input, mode: mode)
    }
    public var variables: [NamedVariable] { [] }
    public var gradients: [NamedVariable] { [] }
    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        try activationLayer.setVariable(localName, to: value)
    }
    public mutating func updateTrainableVariables(
        _ update: (_ value: inout Tensor<Float>, _ gradient: Tensor<Float>) throws -> Void
    ) throws {}
}
