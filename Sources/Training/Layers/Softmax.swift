import Tensors

/// The softmax activation as a layer: Keras `Softmax()` over the last axis, numerically stable. Named `softmax`, `softmax_1`, ... like Keras.
///
/// ```swift
/// let model = try Sequential(inputFeatures: 4, [Dense(units: 3), Softmax()])
/// ```
public struct Softmax: _ActivationShorthand {
    public static let namePrefix = "softmax"
    public var _base: ActivationLayer

    public init(name: String? = nil) { _base = ActivationLayer(.softmax, name: name) }
}
