import Tensors

/// The relu activation as a layer: Keras `ReLU()`: `max(0, x)`. Named `re_lu`, `re_lu_1`, ... like Keras.
///
/// ```swift
/// let model = try Sequential(inputFeatures: 4, [Dense(units: 3), ReLU()])
/// ```
public struct ReLU: _ActivationShorthand {
    public static let namePrefix = "re_lu"
    public var _base: ActivationLayer

    public init(name: String? = nil) { _base = ActivationLayer(.relu, name: name) }
}
