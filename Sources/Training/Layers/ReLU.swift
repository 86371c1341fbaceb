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

// MARK: Keras config

extension ReLU {
    public static var kerasClassName: String? { "ReLU" }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.setNull("max_value")
        config.set("negative_slope", 0.0)
        config.set("threshold", 0.0)
    }

    /// A capped or leaky ReLU computes something else and is refused.
    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> ReLU {
        try config.refuseNonNull(["max_value"])
        for option in ["negative_slope", "threshold"] {
            if let value = config[option], try value.number() != 0 {
                throw KerasConfigProblem.unsupportedOption(option, value: value.text)
            }
        }
        return ReLU(name: name)
    }
}
