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
    public var inputShape: [Int]? { activationLayer.inputShape }
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] { inputShape }
    public mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        try activationLayer.build(inputShape: inputShape, seed: seed)
    }
    /// ``ActivationLayer/forward(_:mode:)`` of ``activationLayer``; the tape is its tape.
    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<ActivationLayer.Tape> {
        try activationLayer.forward(input, mode: mode)
    }
    /// ``ActivationLayer/backward(_:tape:gradients:needsInputGradient:)`` of ``activationLayer``.
    public func backward(_ upstream: Tensor<Float>, tape: ActivationLayer.Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        try activationLayer.backward(upstream, tape: tape, gradients: &gradients, needsInputGradient: needsInputGradient)
    }
    public var outputActivation: Activation? { activationLayer.outputActivation }
    /// ``ActivationLayer/backward(logitGradient:tape:gradients:needsInputGradient:)`` of ``activationLayer``.
    public func backward(logitGradient: Tensor<Float>, tape: ActivationLayer.Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        try activationLayer.backward(logitGradient: logitGradient, tape: tape, gradients: &gradients,
                                     needsInputGradient: needsInputGradient)
    }
    public var variables: [NamedVariable] { [] }
    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        try activationLayer.setVariable(localName, to: value)
    }
}
