import Tensors

/// Inverted dropout: in training mode each value is zeroed with probability `rate` and the
/// survivors are multiplied by `1 / (1 − rate)`; in inference mode it is the identity.
///
/// Masks come from a seeded ``/Tensors/SplitMix64`` whose state (``rngState``) can be saved and
/// restored, so a resumed run draws the same masks.
///
/// ```swift
/// var drop = Dropout(rate: 0.3, seed: 18)
/// let saved = drop.rngState
/// ```
public struct Dropout: Layer {
    public static let namePrefix = "dropout"
    public var name: String
    public var isTrainable = true
    /// The fraction of inputs zeroed in training mode, in `[0, 1)`.
    public let rate: Double
    /// The mask generator's seed; `nil` takes one derived from the model's seed.
    public let seed: UInt64?
    public private(set) var inputFeatures: Int?
    /// The generator state; the next stateful training-mode forward draws from here.
    public var rngState: UInt64

    /// Test hook: when set, training mode uses this multiplier tensor instead of drawing one.
    var forcedMask: Tensor<Float>?
    private var cachedMask: Tensor<Float>?

    /// A dropout layer; give `seed` to fix its masks independently of the model's seed.
    public init(rate: Double, seed: UInt64? = nil, name: String? = nil) {
        precondition(rate >= 0 && rate < 1, "Dropout rate must be in [0, 1), got \(rate)")
        self.rate = rate
        self.seed = seed
        self.rngState = seed ?? 0
        self.name = name ?? ""
    }

    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }

    public mutating func build(inputFeatures: Int, seed derivedSeed: UInt64) throws -> Int {
        if self.inputFeatures == nil, seed == nil { rngState = derivedSeed }
        self.inputFeatures = inputFeatures
        return inputFeatures
    }

    /// Pure: in training mode it draws from the current state without advancing it.
    public func callAsFunction(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try pass(input, mode: mode).output
    }

    public mutating func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        let (output, mask, nextState) = try pass(input, mode: mode)
        cachedMask = mask
        rngState = nextState
        return output
    }

    /// The one forward computation: the output, the mask it applied (nil when it is the
    /// identity) and the generator state after drawing it.
    private func pass(_ input: Tensor<Float>, mode: ExecutionMode) throws
        -> (output: Tensor<Float>, mask: Tensor<Float>?, nextState: UInt64) {
        try checkInput(input)
        guard mode == .training, rate > 0 else { return (input, nil, rngState) }
        if let forcedMask { return (try applying(forcedMask, to: input), forcedMask, rngState) }
        var rng = SplitMix64(state: rngState)
        let mask = try makeMask(shape: input.shape, rng: &rng)
        return (try applying(mask, to: input), mask, rng.state)
    }

    public mutating func backward(_ upstream: Tensor<Float>, needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard needsInputGradient else { return nil }
        guard let cachedMask else { return upstream }
        return try applying(cachedMask, to: upstream)
    }

    public var variables: [NamedVariable] { [] }
    public var gradients: [NamedVariable] { [] }

    public var randomState: UInt64? { rngState }
    public mutating func setRandomState(_ state: UInt64) throws { rngState = state }

    public var checkpointAttributes: [(name: String, value: LayerAttribute)] {
        var out: [(name: String, value: LayerAttribute)] = [("rate", .double(rate))]
        if let seed { out.append(("seed", .unsigned(seed))) }
        return out
    }

    public mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
    }

    public mutating func updateTrainableVariables(
        _ update: (_ value: inout Tensor<Float>, _ gradient: Tensor<Float>) throws -> Void
    ) throws {}

    /// Keras keeps a value when its uniform draw is `>= rate` and scales it by `1/(1-rate)`.
    private func makeMask(shape: [Int], rng: inout SplitMix64) throws -> Tensor<Float> {
        let threshold = Float(rate)
        let keep = Float(1 / (1 - rate))
        let count = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { v in
            for i in v.indices where rng.nextUniformFloat() >= threshold { v[i] = keep }
        }
        return try Tensor(shape: shape, scalars: values)
    }

    private func applying(_ mask: Tensor<Float>, to input: Tensor<Float>) throws -> Tensor<Float> {
        guard mask.shape == input.shape else {
            throw TrainingError.shapeMismatch(layer: name, expected: input.shape, found: mask.shape)
        }
        return try mask * input
    }
}

// MARK: Keras config

extension Dropout {
    public static var kerasClassName: String? { "Dropout" }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("rate", rate)
        config.setNull("seed")
        config.setNull("noise_shape")
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, name: String) throws -> Dropout {
        let rate = try config.required("rate").number()
        guard rate >= 0, rate < 1 else { throw KerasConfigProblem.invalidOption("rate", message: "\(rate) is outside [0, 1)") }
        try config.refuseNonNull(["noise_shape"])
        let seed = (try? config["seed"]?.integer()).flatMap { $0 }.flatMap { $0 >= 0 ? UInt64($0) : nil }
        return Dropout(rate: rate, seed: seed, name: name)
    }
}
