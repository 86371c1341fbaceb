import Tensors

/// The learned scale `gamma` and offset `beta` of ``LayerNormalization``,
/// ``GroupNormalization`` and ``BatchNormalization``, one of each per position of the last
/// axis, with the options that switch them on (`scale`, `center`; a switched-off one is absent,
/// as in Keras). The layers normalize some values with a mean and an inverse standard
/// deviation and then apply these, so creating, naming, replacing and applying them — and
/// their Keras options — is written once here; how each layer gathers its statistics stays in
/// the layer (BatchNormalization applies them in its own vector loops, in the same expression).
struct NormalizationAffine: Sendable {
    /// Whether `beta` is added.
    let center: Bool
    /// Whether `gamma` multiplies.
    let scale: Bool
    /// The learned scale `[features]` (empty when `scale` is false).
    var gamma = Tensor<Float>(zeros: [0])
    /// The learned offset `[features]` (empty when `center` is false).
    var beta = Tensor<Float>(zeros: [0])

    init(center: Bool, scale: Bool) {
        self.center = center
        self.scale = scale
    }

    /// Creates the variables for `features` positions: gamma ones, beta zeros (Keras's initializers).
    mutating func build(features: Int) {
        gamma = scale ? Tensor(repeating: 1, shape: [features]) : Tensor(zeros: [0])
        beta = center ? Tensor(zeros: [features]) : Tensor(zeros: [0])
    }

    /// `gamma` then `beta`, each only when switched on, trainable with the layer.
    func variables(isTrainable: Bool) -> [NamedVariable] {
        var out: [NamedVariable] = []
        if scale { out.append(NamedVariable(name: "gamma", value: gamma, isTrainable: isTrainable)) }
        if center { out.append(NamedVariable(name: "beta", value: beta, isTrainable: isTrainable)) }
        return out
    }

    /// Replaces `gamma` or `beta`, checking its shape; anything else (or a switched-off variable)
    /// is an unknown variable of `layer`, listing the ones it has.
    mutating func setVariable(_ localName: String, to value: Tensor<Float>, layer: String) throws {
        let variable: WritableKeyPath<NormalizationAffine, Tensor<Float>>
        switch localName {
        case "gamma" where scale: variable = \.gamma
        case "beta" where center: variable = \.beta
        default:
            let names = (scale ? ["gamma"] : []) + (center ? ["beta"] : [])
            throw TrainingError.unknownVariable(name: "\(layer)/\(localName)", available: names.map { "\(layer)/\($0)" })
        }
        guard value.shape == self[keyPath: variable].shape else {
            throw TrainingError.shapeMismatch(layer: "\(layer)/\(localName)", expected: self[keyPath: variable].shape,
                                              found: value.shape)
        }
        self[keyPath: variable] = value
    }

    /// Stores the gradients of the variables that are switched on, when the layer trains.
    func store(gammaGradient: @autoclosure () -> Tensor<Float>, betaGradient: @autoclosure () -> Tensor<Float>,
               isTrainable: Bool, in gradients: inout LayerGradients) {
        guard isTrainable else { return }
        gradients["gamma"] = scale ? gammaGradient() : nil
        gradients["beta"] = center ? betaGradient() : nil
    }

    /// `x` normalized with `mean` and `inverseStd`, then scaled and shifted by the variables at
    /// `position`, in Keras's float32 expression: `inv = gamma · inverseStd`,
    /// `y = x · inv + (beta − mean · inv)`. The layers pass `gamma.scalars` and `beta.scalars`
    /// read once per pass.
    @inline(__always)
    func apply(_ x: Float, mean: Float, inverseStd: Float, gamma gammaValues: [Float], beta betaValues: [Float],
               position: Int) -> Float {
        let factor = scale ? inverseStd * gammaValues[position] : inverseStd
        let shift = (center ? betaValues[position] : 0) - mean * factor
        return x * factor + shift
    }

    /// Writes the options both layers share (`axis` -1, `epsilon`, `center`, `scale`, the
    /// initializers and the null regularizers and constraints) under Keras's names.
    func encode<Config: KerasConfigWriting>(epsilon: Double, to config: inout Config) {
        config.set("axis", -1)
        config.set("epsilon", epsilon)
        config.set("center", center)
        config.set("scale", scale)
        config.setInitializer("beta_initializer", className: "Zeros", seeded: false)
        config.setInitializer("gamma_initializer", className: "Ones", seeded: false)
        for key in ["beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"] { config.setNull(key) }
    }

    /// Reads `epsilon` (Keras's default 0.001; finite and ≥ 0), `center` and `scale` (default
    /// true). The layers check `axis`, regularizers and their own options first, so that a
    /// config with several problems reports the same one as before this was shared.
    static func decode<Config: KerasConfigReading>(_ config: Config) throws -> (epsilon: Double, center: Bool, scale: Bool) {
        let epsilon = try config["epsilon"]?.number() ?? 0.001
        guard epsilon >= 0, epsilon.isFinite else {
            throw KerasConfigProblem.invalidOption("epsilon", message: "\(epsilon) must be ≥ 0")
        }
        return (epsilon, try config["center"]?.bool() ?? true, try config["scale"]?.bool() ?? true)
    }
}
