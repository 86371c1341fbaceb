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
    public private(set) var inputShape: [Int]?
    /// The generator state; the next training-mode forward draws from here, and a training
    /// step's ``LayerStateUpdate/randomState`` says where it continues.
    public var rngState: UInt64

    /// Test hook: when set, training mode uses this multiplier tensor instead of drawing one.
    var forcedMask: Tensor<Float>?

    /// What backward needs: the mask applied (nil when the pass was the identity).
    public struct Tape: Sendable {
        let mask: Tensor<Float>?
    }

    /// A dropout layer; give `seed` to fix its masks independently of the model's seed.
    public init(rate: Double, seed: UInt64? = nil, name: String? = nil) {
        precondition(rate >= 0 && rate < 1, "Dropout rate must be in [0, 1), got \(rate)")
        self.rate = rate
        self.seed = seed
        self.rngState = seed ?? 0
        self.name = name ?? ""
    }

    /// Any shape; the output has the input's.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] { inputShape }

    public mutating func build(inputShape: [Int], seed derivedSeed: UInt64) throws -> [Int] {
        if self.inputShape == nil, seed == nil { rngState = derivedSeed }
        self.inputShape = inputShape
        return inputShape
    }

    /// In training mode it draws a mask from ``rngState`` and reports the advanced state in
    /// the output's ``LayerOutput/stateUpdate``; the layer itself does not change.
    public func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Tape> {
        try checkInput(input)
        guard mode == .training, rate > 0 else { return LayerOutput(output: input, tape: Tape(mask: nil)) }
        if let forcedMask { return LayerOutput(output: try applying(forcedMask, to: input), tape: Tape(mask: forcedMask)) }
        var rng = SplitMix64(state: rngState)
        let mask = try makeMask(shape: input.shape, rng: &rng)
        return LayerOutput(output: try applying(mask, to: input), tape: Tape(mask: mask),
                           stateUpdate: LayerStateUpdate(randomState: rng.state))
    }

    /// The pass over examples `firstExample ..< firstExample + n` (`n` = the input's rows) of a
    /// batch whose mask is drawn for the whole batch at once: with `v` values per example,
    /// example `i` takes draws `i·v ..< (i+1)·v` from ``rngState`` — exactly the draws
    /// ``forward(_:mode:)`` over the whole batch gives it. So an example gets the same mask
    /// whichever segment or process holds it. No state update: after the whole batch the
    /// generator is at `randomState(afterBatchOf:)`. (The test hook `forcedMask` is not used here.)
    func forward(_ input: Tensor<Float>, mode: ExecutionMode, firstExample: Int) throws -> LayerOutput<Tape> {
        try checkInput(input)
        guard mode == .training, rate > 0 else { return LayerOutput(output: input, tape: Tape(mask: nil)) }
        let valuesPerExample = input.shape[0] > 0 ? input.scalarCount / input.shape[0] : 0
        var rng = SplitMix64(state: rngState).advanced(by: UInt64(firstExample) &* UInt64(valuesPerExample))
        let mask = try makeMask(shape: input.shape, rng: &rng)
        return LayerOutput(output: try applying(mask, to: input), tape: Tape(mask: mask))
    }

    /// ``rngState`` after a training-mode pass over a batch of `examples` examples; nil when
    /// such a pass draws nothing (rate 0) or the layer is not built.
    func randomState(afterBatchOf examples: Int) -> UInt64? {
        guard rate > 0, let inputShape else { return nil }
        return SplitMix64(state: rngState).advanced(by: UInt64(examples) &* UInt64(inputShape.reduce(1, *))).state
    }

    public func backward(_ upstream: Tensor<Float>, tape: Tape, gradients: inout LayerGradients,
                         needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard needsInputGradient else { return nil }
        guard let mask = tape.mask else { return upstream }
        return try applying(mask, to: upstream)
    }

    public var variables: [NamedVariable] { [] }

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
