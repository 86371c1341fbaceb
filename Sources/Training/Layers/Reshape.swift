import Tensors

/// Keras `Reshape`: each example's values in row-major order under a new per-example shape
/// (one entry may be `-1`, inferred). Turns 64 features into an 8x8x1 image, or back.
///
/// O(1): no scalar moves, the storage is shared.
///
/// ```swift
/// let model = try Sequential(inputFeatures: 64, [Reshape(targetShape: [8, 8, 1]),
///                                                Conv2D(filters: 4, kernelSize: Size2D(square: 3))])
/// ```
public struct Reshape: Layer {
    public static let namePrefix = "reshape"
    public var name: String
    public var isTrainable = true
    /// The per-example output shape as given, possibly with one `-1`.
    public let targetShape: [Int]
    public private(set) var inputShape: [Int]?
    private var resolvedShape: [Int]?

    /// A reshape to `targetShape` (per example, without the batch axis).
    public init(targetShape: [Int], name: String? = nil) {
        self.targetShape = targetShape
        self.name = name ?? ""
    }

    /// `targetShape` with its `-1` resolved.
    /// - Throws: ``TrainingError/invalidArgument(layer:message:)`` naming both shapes when
    ///   the element counts differ.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        let count = inputShape.reduce(1, *)
        let known = targetShape.filter { $0 != -1 }.reduce(1, *)
        var resolved = targetShape
        if let axis = targetShape.firstIndex(of: -1), known > 0 { resolved[axis] = count / known }
        guard targetShape.filter({ $0 == -1 }).count <= 1, !resolved.isEmpty, resolved.allSatisfy({ $0 > 0 }),
              resolved.reduce(1, *) == count else {
            throw TrainingError.invalidArgument(layer: name, message:
                "cannot reshape examples of shape \(inputShape) (\(count) values) to \(targetShape); "
                + "the target shape must hold the same number of values, with at most one -1")
        }
        return resolved
    }

    public mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        let output = try outputShape(forInput: inputShape)
        try checkRebuild(inputShape)
        self.inputShape = inputShape
        resolvedShape = output
        return output
    }

    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Void> {
        try checkInput(input)
        guard let resolvedShape else {
            throw TrainingError.invalidArgument(layer: name, message: "the layer is not built (use it in a Sequential)")
        }
        return LayerOutput(output: try input.reshaped(to: [input.rowCount] + resolvedShape))
    }

    public func backward(_ upstream: Tensor<Float>, tape: Void, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard needsInputGradient, let inputShape, let resolvedShape else { return nil }
        guard Array(upstream.shape.dropFirst()) == resolvedShape else {
            throw TrainingError.shapeMismatch(layer: name, expected: [-1] + resolvedShape, found: upstream.shape)
        }
        return try upstream.reshaped(to: [upstream.rowCount] + inputShape)
    }

    public var variables: [NamedVariable] { [] }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
    }
}

// MARK: Keras config

extension Reshape {
    public static var kerasClassName: String? { "Reshape" }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("target_shape", resolvedShape ?? targetShape)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> Reshape {
        let value = try config.required("target_shape")
        guard let shape = try? value.array().map({ try $0.integer() }), !shape.isEmpty,
              shape.allSatisfy({ $0 == -1 || (1...config.maximumWidth).contains($0) }) else {
            throw KerasConfigProblem.invalidOption("target_shape", message: "\(value.text) is not a list of positive sizes (one may be -1)")
        }
        return Reshape(targetShape: shape, name: name)
    }
}
