import Tensors

/// The relu activation as a layer: Keras `ReLU()`: `max(0, x)`. Named `re_lu`, `re_lu_1`, ... like Keras.
///
/// ```swift
/// let model = try Sequential(inputFeatures: 4, [Dense(units: 3), ReLU()])
/// ```
public struct ReLU: Layer {
    public static let namePrefix = "re_lu"
    private var base: ActivationLayer

    public init(name: String? = nil) { base = ActivationLayer(.relu, name: name) }

    public var name: String {
        get { base.name }
        set { base.name = newValue }
    }
    public var isTrainable: Bool {
        get { base.isTrainable }
        set { base.isTrainable = newValue }
    }
    public var inputFeatures: Int? { base.inputFeatures }
    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }
    public mutating func build(inputFeatures: Int, seed: UInt64) throws -> Int {
        try base.build(inputFeatures: inputFeatures, seed: seed)
    }
    public func callAsFunction(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try base(input, mode: mode)
    }
    public mutating func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try base.forward(input, mode: mode)
    }
    public mutating func backward(_ upstream: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        try base.backward(upstream, needsInputGradient: needsInputGradient)
    }
    public var outputActivation: Activation? { base.outputActivation }
    public var lastLogits: Tensor<Float>? { base.lastLogits }
    public mutating func backward(logitGradient: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        try base.backward(logitGradient: logitGradient, needsInputGradient: needsInputGradient)
    }
    public func logits(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float>? {
        try base.logits(input, mode: mode)
    }
    public var variables: [NamedVariable] { [] }
    public var gradients: [NamedVariable] { [] }
    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        try base.setVariable(localName, to: value)
    }
    public mutating func updateTrainableVariables(
        _ update: (_ value: inout Tensor<Float>, _ gradient: Tensor<Float>) throws -> Void
    ) throws {}
}
