/// The options every Keras 3 optimizer takes besides its own hyper-parameters: the learning
/// rate (a constant or a ``LearningRateSchedule``), decoupled weight decay, gradient clipping,
/// gradient accumulation and an exponential moving average (EMA) of the weights. Keras applies
/// them in this order each step: accumulate (skipping the update until the last micro-step),
/// clip, decay the weights, run the optimizer's rule, update the EMA and maybe overwrite the
/// weights with it.
///
/// ```swift
/// var options = OptimizerOptions(learningRate: 1e-3)
/// options.weightDecay = 0.004
/// options.globalClipnorm = 1
/// options.useEMA = true
/// let adamW = Adam(options: options)
/// ```
public struct OptimizerOptions: Sendable, Equatable {
    /// The learning rate: a constant, or a schedule evaluated at each step.
    public var learningRate: LearningRate
    /// `w −= w·weightDecay·lr` before each update (Keras's `weight_decay`); nil for none.
    public var weightDecay: Double?
    /// Clips each gradient to this L2 norm (Keras's `clipnorm`).
    public var clipnorm: Double?
    /// Clips each gradient element to ±`clipvalue`.
    public var clipvalue: Double?
    /// Scales all gradients together so that their joint L2 norm is at most this.
    public var globalClipnorm: Double?
    /// Sums the gradients of this many steps and updates with their mean on the last (≥ 2).
    public var gradientAccumulationSteps: Int?
    /// Whether to keep an exponential moving average of the trainable variables.
    public var useEMA: Bool
    /// The EMA's decay (Keras's `ema_momentum`).
    public var emaMomentum: Double
    /// Every this many (accumulated) steps the variables are overwritten with their EMA.
    public var emaOverwriteFrequency: Int?

    /// Keras 3's defaults: no decay, clipping, accumulation or EMA.
    public init(learningRate: LearningRate = .constant(0.001), weightDecay: Double? = nil, clipnorm: Double? = nil,
                clipvalue: Double? = nil, globalClipnorm: Double? = nil, gradientAccumulationSteps: Int? = nil,
                useEMA: Bool = false, emaMomentum: Double = 0.99, emaOverwriteFrequency: Int? = nil) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.globalClipnorm = globalClipnorm
        self.gradientAccumulationSteps = gradientAccumulationSteps
        self.useEMA = useEMA
        self.emaMomentum = emaMomentum
        self.emaOverwriteFrequency = emaOverwriteFrequency
    }

    /// A constant learning rate and Keras's defaults for the rest.
    public init(learningRate: Float) {
        self.init(learningRate: .constant(learningRate))
    }

    /// Refuses what Keras refuses: two clipping options, fewer than 2 accumulation steps, an
    /// EMA momentum outside [0, 1], a non-positive overwrite frequency.
    public func validate() throws(KerasConfigProblem) {
        let clips = [("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", globalClipnorm)]
            .filter { $0.1 != nil }
        if clips.count > 1 {
            throw .invalidOption(clips[1].0, message: "\(clips[1].1!) is set together with \(clips[0].0); Keras allows one clipping option")
        }
        if let steps = gradientAccumulationSteps, steps < 2 {
            throw .invalidOption("gradient_accumulation_steps", message: "\(steps) is below 2")
        }
        if useEMA, !(0...1).contains(emaMomentum) {
            throw .invalidOption("ema_momentum", message: "\(emaMomentum) is outside [0, 1]")
        }
        if useEMA, let frequency = emaOverwriteFrequency, frequency < 1 {
            throw .invalidOption("ema_overwrite_frequency", message: "\(frequency) is below 1")
        }
    }

    /// The options' members of a Keras optimizer config, as Keras writes them (nulls included),
    /// without `learning_rate`, which the writer spells itself (a schedule is an object).
    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        func set(_ key: String, _ value: Double?) {
            if let value { config.set(key, value) } else { config.setNull(key) }
        }
        set("weight_decay", weightDecay)
        set("clipnorm", clipnorm)
        set("global_clipnorm", globalClipnorm)
        set("clipvalue", clipvalue)
        config.set("use_ema", useEMA)
        config.set("ema_momentum", emaMomentum)
        if let emaOverwriteFrequency { config.set("ema_overwrite_frequency", emaOverwriteFrequency) } else {
            config.setNull("ema_overwrite_frequency")
        }
        config.setNull("loss_scale_factor")
        if let gradientAccumulationSteps { config.set("gradient_accumulation_steps", gradientAccumulationSteps) } else {
            config.setNull("gradient_accumulation_steps")
        }
    }

    /// The options of a Keras optimizer config, learning rate aside (the reader decodes it,
    /// since a schedule is an object); refuses `loss_scale_factor` and invalid combinations.
    public static func decodeKerasConfig<Config: KerasConfigReading>(
        _ config: Config, learningRate: LearningRate
    ) throws -> OptimizerOptions {
        try config.refuseNonNull(["loss_scale_factor"])
        func number(_ key: String) throws -> Double? {
            guard let value = config[key] else { return nil }
            do { return try value.number() } catch { throw KerasConfigProblem.unsupportedOption(key, value: value.text) }
        }
        func integer(_ key: String) throws -> Int? {
            guard let value = config[key] else { return nil }
            do { return try value.integer() } catch { throw KerasConfigProblem.unsupportedOption(key, value: value.text) }
        }
        var options = OptimizerOptions(learningRate: learningRate)
        options.weightDecay = try number("weight_decay")
        options.clipnorm = try number("clipnorm")
        options.clipvalue = try number("clipvalue")
        options.globalClipnorm = try number("global_clipnorm")
        options.gradientAccumulationSteps = try integer("gradient_accumulation_steps")
        options.useEMA = try config["use_ema"]?.bool() ?? false
        options.emaMomentum = try number("ema_momentum") ?? 0.99
        options.emaOverwriteFrequency = try integer("ema_overwrite_frequency")
        // Keras treats 0 as "off" for the clipping options (`if self.clipnorm and ...`).
        if options.clipnorm == 0 { options.clipnorm = nil }
        if options.clipvalue == 0 { options.clipvalue = nil }
        if options.globalClipnorm == 0 { options.globalClipnorm = nil }
        try options.validate()
        return options
    }

    /// The options that change what a step computes, for ``OptimizerIdentity``: only those set.
    var identityEntries: [String: String] {
        var entries: [String: String] = [:]
        if let weightDecay { entries["weight_decay"] = "\(weightDecay)" }
        if let clipnorm { entries["clipnorm"] = "\(clipnorm)" }
        if let clipvalue { entries["clipvalue"] = "\(clipvalue)" }
        if let globalClipnorm { entries["global_clipnorm"] = "\(globalClipnorm)" }
        if let gradientAccumulationSteps { entries["gradient_accumulation_steps"] = "\(gradientAccumulationSteps)" }
        if useEMA {
            entries["use_ema"] = "true"
            entries["ema_momentum"] = "\(emaMomentum)"
            if let emaOverwriteFrequency { entries["ema_overwrite_frequency"] = "\(emaOverwriteFrequency)" }
        }
        if case .schedule(let schedule) = learningRate { entries["learning_rate"] = schedule.description }
        return entries
    }
}

/// A learning rate: constant, or a ``LearningRateSchedule`` of the step.
public enum LearningRate: Sendable, Equatable {
    /// The same rate at every step (Keras holds it as a float32 variable).
    case constant(Float)
    /// A rate computed from the step counter.
    case schedule(any LearningRateSchedule)

    /// The rate at `step` (Keras's optimizer `_iterations`, counting every micro-step).
    public func value(atStep step: Int64) -> Float {
        switch self {
        case .constant(let rate): rate
        case .schedule(let schedule): schedule.learningRate(atStep: step)
        }
    }

    public static func == (lhs: LearningRate, rhs: LearningRate) -> Bool {
        switch (lhs, rhs) {
        case let (.constant(a), .constant(b)): a == b
        case let (.schedule(a), .schedule(b)): a.description == b.description
        default: false
        }
    }
}
