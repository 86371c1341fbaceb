import Tensors

/// The relu activation as a layer: Keras `ReLU()`: `max(0, x)`. Named `re_lu`, `re_lu_1`, ... like Keras.
///
/// ```swift
/// let model = try Sequential(inputFeatures: 4, [Dense(units: 3), ReLU()])
/// ```
public struct ReLU: ActivationLayerShorthand {
    public static let namePrefix = "re_lu"
    /// The `ActivationLayer(.relu)` every requirement forwards to.
    public var activationLayer: ActivationLayer

    /// A ReLU layer; named `re_lu`, `re_lu_1`, ... unless `name` is given.
    public init(name: String? = nil) { activationLayer = ActivationLayer(.relu, name: name) }
}
