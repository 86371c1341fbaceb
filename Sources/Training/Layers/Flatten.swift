import Tensors

/// Keras `Flatten()`: each example of any shape becomes one row of features, in row-major
/// order (`[batch, h, w, c]` → `[batch, h·w·c]`). On `[batch, features]` inputs it is the
/// identity, and keeps Keras architectures (and their layer names, `flatten`,
/// `flatten_1`, ...) intact when they are loaded.
///
/// ```swift
/// let model = try Sequential(inputFeatures: 5, [Flatten(), Dense(units: 3)])
/// ```
public struct Flatten: Layer {
    public static let namePrefix = "flatten"
    public var name: String
    public var isTrainable = true
    public private(set) var inputShape: [Int]?

    /// A flatten layer; named `flatten`, `flatten_1`, ... unless `name` is given.
    public init(name: String? = nil) { self.name = name ?? "" }

    /// `[product of the input shape]`: each example becomes one row of features.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] { [inputShape.reduce(1, *)] }

    public mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        self.inputShape = inputShape
        return try outputShape(forInput: inputShape)
    }

    /// The examples' values in row-major order, one row per example; backward reshapes back.
    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Void> {
        try checkInput(input)
        guard input.rank != 2 else { return LayerOutput(output: input) }
        let features = Array(input.shape.dropFirst()).reduce(1, *)
        return LayerOutput(output: try input.reshaped(to: [input.rowCount, features]))
    }

    public func backward(_ upstream: Tensor<Float>, tape: Void, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard needsInputGradient else { return nil }
        guard let inputShape, inputShape.count != 1 else { return upstream }
        return try upstream.reshaped(to: [upstream.rowCount] + inputShape)
    }

    public var variables: [NamedVariable] { [] }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
    }
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
