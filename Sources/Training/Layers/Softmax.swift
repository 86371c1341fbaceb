import Tensors

/// The softmax activation as a layer: Keras `Softmax()` over the last axis, numerically stable. Named `softmax`, `softmax_1`, ... like Keras.
///
/// ```swift
/// let model = try Sequential(inputFeatures: 4, [Dense(units: 3), Softmax()])
/// ```
public struct Softmax: ActivationLayerShorthand {
    public static let namePrefix = "softmax"
    /// The `ActivationLayer(.softmax)` every requirement forwards to.
    public var activationLayer: ActivationLayer

    /// A softmax layer over each row's features; named `softmax`, `softmax_1`, ... unless `name` is given.
    public init(name: String? = nil) { activationLayer = ActivationLayer(.softmax, name: name) }
}

// MARK: Keras config

extension Softmax {
    public static var kerasClassName: String? { "Softmax" }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("axis", -1)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> Softmax {
        try config.requireFeatureAxis()
        return Softmax(name: name)
    }
}
