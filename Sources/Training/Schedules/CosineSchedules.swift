#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cosine decay from `initialLearningRate` (or, after a linear warmup to `warmupTarget` over
/// `warmupSteps`, from the target) to `alpha` times it over `decaySteps`; Keras's `CosineDecay`.
///
/// ```swift
/// let schedule = CosineDecay(initialLearningRate: 0, decaySteps: 1000, warmupTarget: 1e-3, warmupSteps: 100)
/// schedule.learningRate(atStep: 50)    // 5e-4, half-way up the warmup
/// ```
public struct CosineDecay: LearningRateSchedule, Equatable {
    public static let kerasClassName = "CosineDecay"
    /// π rounded to nearest as float32, as Keras's `ops.array(math.pi, dtype)` (Swift's
    /// `Float.pi` is rounded toward zero, one ulp lower). TensorFlow's float32 `cos` is
    /// correctly rounded, so it is computed in double and rounded.
    static let pi = Float(Double.pi)
    /// The rate at step 0.
    public let initialLearningRate: Double
    /// Steps of the cosine decay (after the warmup).
    public let decaySteps: Double
    /// The final rate as a fraction of the decayed-from rate.
    public let alpha: Double
    /// The rate the warmup reaches; nil for no warmup.
    public let warmupTarget: Double?
    /// Steps of the linear warmup.
    public let warmupSteps: Double

    /// A schedule with Keras's arguments and defaults.
    public init(initialLearningRate: Double, decaySteps: Double, alpha: Double = 0, warmupTarget: Double? = nil,
                warmupSteps: Double = 0) {
        self.initialLearningRate = initialLearningRate
        self.decaySteps = decaySteps
        self.alpha = alpha
        self.warmupTarget = warmupTarget
        self.warmupSteps = warmupSteps
    }

    public func learningRate(atStep step: Int64) -> Float {
        let initial = Float(initialLearningRate), steps = Float(decaySteps)
        guard let warmupTarget else { return decayed(min(Float(step), steps), from: initial) }
        let target = Float(warmupTarget), warmup = Float(warmupSteps)
        let position = min(Float(step), steps + warmup)
        if position < warmup { return (target - initial) * (position / warmup) + initial }
        return decayed(position - warmup, from: target)
    }

    private func decayed(_ position: Float, from rate: Float) -> Float {
        let fraction = position / Float(decaySteps)
        let cosine = 0.5 * (1 + Float(cos(Double(Self.pi * fraction))))
        return rate * (Float(1 - alpha) * cosine + Float(alpha))
    }

    public func encodeKerasConfig<Config: ScheduleConfigWriting>(to config: inout Config) {
        config.setDecayStart(initialLearningRate: initialLearningRate, decaySteps: decaySteps)
        config.set("alpha", alpha)
        config.set("name", "CosineDecay")
        if let warmupTarget { config.set("warmup_target", warmupTarget) } else { config.setNull("warmup_target") }
        config.set("warmup_steps", warmupSteps)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config) throws -> CosineDecay {
        let warmupTarget = try config["warmup_target"]?.number()
        let warmupSteps = try config["warmup_steps"]?.number() ?? 0
        if warmupTarget != nil, warmupSteps <= 0 {
            throw KerasConfigProblem.invalidOption("warmup_steps", message: "\(warmupSteps) is not positive while warmup_target is set")
        }
        let start = try decayStart(config)
        return CosineDecay(initialLearningRate: start.initialLearningRate, decaySteps: start.decaySteps,
                           alpha: try config["alpha"]?.number() ?? 0,
                           warmupTarget: warmupTarget, warmupSteps: warmupSteps)
    }
}

/// Cosine decay with warm restarts (SGDR): periods of `firstDecaySteps·tMulⁱ` steps, each
/// starting at `mMulⁱ` times the initial rate; Keras's `CosineDecayRestarts`.
///
/// ```swift
/// let schedule = CosineDecayRestarts(initialLearningRate: 0.1, firstDecaySteps: 100)
/// schedule.learningRate(atStep: 100)   // 0.1 · mMul: the first restart
/// ```
public struct CosineDecayRestarts: LearningRateSchedule, Equatable {
    public static let kerasClassName = "CosineDecayRestarts"
    static let pi = CosineDecay.pi
    /// The rate at step 0.
    public let initialLearningRate: Double
    /// Steps of the first period.
    public let firstDecaySteps: Double
    /// Each period's length relative to the previous one.
    public let tMul: Double
    /// Each period's starting rate relative to the previous one.
    public let mMul: Double
    /// The final rate of a period as a fraction of its starting rate.
    public let alpha: Double

    /// A schedule with Keras's arguments and defaults.
    public init(initialLearningRate: Double, firstDecaySteps: Double, tMul: Double = 2, mMul: Double = 1,
                alpha: Double = 0) {
        self.initialLearningRate = initialLearningRate
        self.firstDecaySteps = firstDecaySteps
        self.tMul = tMul
        self.mMul = mMul
        self.alpha = alpha
    }

    public func learningRate(atStep step: Int64) -> Float {
        let tMul = Float(self.tMul), mMul = Float(self.mMul), alpha = Float(self.alpha)
        var fraction = Float(step) / Float(firstDecaySteps)
        let restart: Float
        if tMul == 1 {
            restart = fraction.rounded(.down)
            fraction -= restart
        } else {
            restart = (logf(1 - fraction * (1 - tMul)) / logf(tMul)).rounded(.down)
            let completed = (1 - powf(tMul, restart)) / (1 - tMul)
            fraction = (fraction - completed) / powf(tMul, restart)
        }
        let cosine = 0.5 * powf(mMul, restart) * (1 + Float(cos(Double(Self.pi * fraction))))
        return Float(initialLearningRate) * ((1 - alpha) * cosine + alpha)
    }

    public func encodeKerasConfig<Config: ScheduleConfigWriting>(to config: inout Config) {
        config.setDecayStart(initialLearningRate: initialLearningRate, decaySteps: firstDecaySteps, stepsKey: "first_decay_steps")
        config.set("t_mul", tMul)
        config.set("m_mul", mMul)
        config.set("alpha", alpha)
        config.set("name", "SGDRDecay")
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config) throws -> CosineDecayRestarts {
        let start = try decayStart(config, stepsKey: "first_decay_steps")
        return CosineDecayRestarts(initialLearningRate: start.initialLearningRate, firstDecaySteps: start.decaySteps,
                                   tMul: try config["t_mul"]?.number() ?? 2, mMul: try config["m_mul"]?.number() ?? 1,
                                   alpha: try config["alpha"]?.number() ?? 0)
    }
}
