import Tensors

/// Keras `Flatten()` on `[batch, features]` inputs, where it is the identity. Batchwise
/// models are rank 2 throughout, so this layer exists to keep Keras architectures (and
/// their layer names, `flatten`, `flatten_1`, ...) intact when they are loaded.
///
/// ```swift
/// let model = try Sequential(inputFeatures: 5, [Flatten(), Dense(units: 3)])
/// ```
public struct Flatten: Layer {
    public static let namePrefix = "flatten"
    public var name: String
    public var isTrainable = true
    public private(set) var inputFeatures: Int?

    /// A flatten layer; named `flatten`, `flatten_1`, ... unless `name` is given.
    public init(name: String? = nil) { self.name = name ?? "" }

    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }

    public mutating func build(inputFeatures: Int, seed: UInt64) throws -> Int {
        self.inputFeatures = inputFeatures
        return inputFeatures
    }

    public func callAsFunction(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try checkInput(input)
        return input
    }

    public mutating func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try self(input, mode: mode)
    }

    public mutating func backward(_ upstream: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        needsInputGradient ? upstream : nil
    }

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

extension Flatten {
    public static var kerasClassName: String? { "Flatten" }
    public static var kerasRecordsBuildShape: Bool { true }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("data_format", "channels_last")
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> Flatten {
        Flatten(name: name)
    }
}
