import Tensors

/// Keras `Rescaling(scale, offset)`: every value `x` becomes `x · scale + offset`, computed in
/// float32 as Keras does, for examples of any shape. Turns pixel values in `[0, 255]` into
/// `[0, 1]` (`scale: 1 / 255`) or `[-1, 1]` (`scale: 1 / 127.5, offset: -1`) inside the model,
/// so a saved model takes raw pixels. It has no variables.
///
/// ```swift
/// let model = try Sequential(inputFeatures: 64, [Rescaling(scale: 1.0 / 255), Dense(units: 10)])
/// ```
public struct Rescaling: Layer {
    public static let namePrefix = "rescaling"
    public var name: String
    public var isTrainable = true
    /// The factor every value is multiplied by.
    public let scale: Double
    /// What is added after scaling.
    public let offset: Double
    public private(set) var inputShape: [Int]?

    /// A rescaling layer; named `rescaling`, `rescaling_1`, ... unless `name` is given.
    public init(scale: Double, offset: Double = 0, name: String? = nil) {
        self.scale = scale
        self.offset = offset
        self.name = name ?? ""
    }

    /// The input shape: every value is rescaled in place.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] { inputShape }

    public mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        try checkRebuild(inputShape)
        self.inputShape = inputShape
        return inputShape
    }

    /// `input · scale + offset`, scale and offset first rounded to float32 (Keras casts them to
    /// the layer's compute dtype); the same in every mode.
    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Void> {
        try checkInput(input)
        let scale = Float(scale), offset = Float(offset)
        return LayerOutput(output: input.map { $0 * scale + offset })
    }

    /// ∂L/∂input = ∂L/∂output · scale.
    public func backward(_ upstream: Tensor<Float>, tape: Void, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard needsInputGradient else { return nil }
        if let inputShape, Array(upstream.shape.dropFirst()) != inputShape {
            throw TrainingError.shapeMismatch(layer: name, expected: [-1] + inputShape, found: upstream.shape)
        }
        return upstream * Float(scale)
    }

    public var variables: [NamedVariable] { [] }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
    }
}

// MARK: Keras config

extension Rescaling {
    public static var kerasClassName: String? { "Rescaling" }
    public static var kerasRecordsBuildShape: Bool { true }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("scale", scale)
        config.set("offset", offset)
    }

    /// A per-channel `scale` or `offset` (a list or array in the config) is refused: Batchwise
    /// rescales by one number.
    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> Rescaling {
        func finiteNumber(_ value: Config, _ key: String) throws -> Double {
            guard let number = try? value.number() else { throw KerasConfigProblem.unsupportedOption(key, value: value.text) }
            guard number.isFinite else { throw KerasConfigProblem.invalidOption(key, message: "\(number) is not finite") }
            return number
        }
        let scale = try finiteNumber(try config.required("scale"), "scale")
        let offset = try config["offset"].map { try finiteNumber($0, "offset") } ?? 0
        return Rescaling(scale: scale, offset: offset, name: name)
    }
}
