#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `lr₀ · rateᵖ` with `p = step / decaySteps` (floored when `staircase`), as Keras's `ExponentialDecay`.
///
/// ```swift
/// ExponentialDecay(initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5).learningRate(atStep: 20)   // 0.025
/// ```
public struct ExponentialDecay: StepDecaySchedule, Equatable {
    public static let kerasClassName = "ExponentialDecay"
    /// The rate at step 0.
    public let initialLearningRate: Double
    /// Steps over which the rate is multiplied by `decayRate`.
    public let decaySteps: Double
    /// The factor per `decaySteps`.
    public let decayRate: Double
    /// Whether the exponent is an integer (the rate drops in stairs).
    public let staircase: Bool

    /// A schedule with Keras's arguments.
    public init(initialLearningRate: Double, decaySteps: Double, decayRate: Double, staircase: Bool = false) {
        self.initialLearningRate = initialLearningRate
        self.decaySteps = decaySteps
        self.decayRate = decayRate
        self.staircase = staircase
    }

    public func learningRate(atStep step: Int64) -> Float {
        Float(initialLearningRate) * powf(Float(decayRate), progress(atStep: step))
    }
}

/// `lr₀ / (1 + rate·p)` with `p = step / decaySteps` (floored when `staircase`), as Keras's `InverseTimeDecay`.
///
/// ```swift
/// InverseTimeDecay(initialLearningRate: 0.1, decaySteps: 1, decayRate: 1).learningRate(atStep: 1)   // 0.05
/// ```
public struct InverseTimeDecay: StepDecaySchedule, Equatable {
    public static let kerasClassName = "InverseTimeDecay"
    /// The rate at step 0.
    public let initialLearningRate: Double
    /// The unit of `p`.
    public let decaySteps: Double
    /// How fast the rate falls.
    public let decayRate: Double
    /// Whether `p` is an integer.
    public let staircase: Bool

    /// A schedule with Keras's arguments.
    public init(initialLearningRate: Double, decaySteps: Double, decayRate: Double, staircase: Bool = false) {
        self.initialLearningRate = initialLearningRate
        self.decaySteps = decaySteps
        self.decayRate = decayRate
        self.staircase = staircase
    }

    public func learningRate(atStep step: Int64) -> Float {
        Float(initialLearningRate) / (1 + Float(decayRate) * progress(atStep: step))
    }
}

/// `(lr₀ − end)·(1 − step/decaySteps)^power + end`, holding `end` afterwards or, with `cycle`,
/// stretching `decaySteps` to the next multiple past the step; Keras's `PolynomialDecay`.
///
/// ```swift
/// PolynomialDecay(initialLearningRate: 0.1, decaySteps: 10).learningRate(atStep: 5)   // 0.05
/// ```
public struct PolynomialDecay: LearningRateSchedule, Equatable {
    public static let kerasClassName = "PolynomialDecay"
    /// The rate at step 0.
    public let initialLearningRate: Double
    /// Steps to reach `endLearningRate`.
    public let decaySteps: Double
    /// The rate after `decaySteps`.
    public let endLearningRate: Double
    /// The polynomial's power.
    public let power: Double
    /// Whether to restart past `decaySteps` instead of holding the end rate.
    public let cycle: Bool

    /// A schedule with Keras's arguments and defaults.
    public init(initialLearningRate: Double, decaySteps: Double, endLearningRate: Double = 0.0001, power: Double = 1,
                cycle: Bool = false) {
        self.initialLearningRate = initialLearningRate
        self.decaySteps = decaySteps
        self.endLearningRate = endLearningRate
        self.power = power
        self.cycle = cycle
    }

    public func learningRate(atStep step: Int64) -> Float {
        let initial = Float(initialLearningRate), end = Float(endLearningRate)
        var position = Float(step)
        var steps = Float(decaySteps)
        if cycle {
            let multiplier: Float = position == 0 ? 1 : (position / Float(decaySteps)).rounded(.up)
            steps *= multiplier
        } else {
            position = min(position, steps)
        }
        let p = position / steps
        return (initial - end) * powf(1 - p, Float(power)) + end
    }

    public func encodeKerasConfig<Config: ScheduleConfigWriting>(to config: inout Config) {
        config.setDecayStart(initialLearningRate: initialLearningRate, decaySteps: decaySteps)
        config.set("end_learning_rate", endLearningRate)
        config.set("power", power)
        config.set("cycle", cycle)
        config.set("name", "PolynomialDecay")
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config) throws -> PolynomialDecay {
        let start = try decayStart(config)
        return PolynomialDecay(initialLearningRate: start.initialLearningRate, decaySteps: start.decaySteps,
                               endLearningRate: try config["end_learning_rate"]?.number() ?? 0.0001,
                               power: try config["power"]?.number() ?? 1, cycle: try config["cycle"]?.bool() ?? false)
    }
}

/// `values[i]` while `boundaries[i-1] < step <= boundaries[i]`, as Keras's `PiecewiseConstantDecay`.
///
/// ```swift
/// let schedule = try PiecewiseConstantDecay(boundaries: [100, 200], values: [0.1, 0.01, 0.001])
/// schedule.learningRate(atStep: 150)   // 0.01
/// ```
public struct PiecewiseConstantDecay: LearningRateSchedule, Equatable {
    public static let kerasClassName = "PiecewiseConstantDecay"
    /// Steps at which the rate changes, increasing.
    public let boundaries: [Int64]
    /// One more rate than boundaries.
    public let values: [Double]

    /// Refuses (``KerasConfigProblem``) value lists that are not one longer than the boundaries.
    public init(boundaries: [Int64], values: [Double]) throws(KerasConfigProblem) {
        guard values.count == boundaries.count + 1, !boundaries.isEmpty else {
            throw .invalidOption("values", message: "\(values.count) values for \(boundaries.count) boundaries; need one more")
        }
        self.boundaries = boundaries
        self.values = values
    }

    public func learningRate(atStep step: Int64) -> Float {
        let index = boundaries.firstIndex { step <= $0 } ?? boundaries.count
        return Float(values[index])
    }

    public func encodeKerasConfig<Config: ScheduleConfigWriting>(to config: inout Config) {
        config.set("boundaries", boundaries.map(Double.init))
        config.set("values", values)
        config.set("name", "PiecewiseConstant")
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config) throws -> PiecewiseConstantDecay {
        let boundaries = try config.required("boundaries").array().map { Int64(try $0.integer()) }
        let values = try config.required("values").array().map { try $0.number() }
        return try PiecewiseConstantDecay(boundaries: boundaries, values: values)
    }
}

/// ``ExponentialDecay`` and ``InverseTimeDecay``: the same four arguments and Keras config,
/// decaying in `p = step / decaySteps` (floored when `staircase`).
public protocol StepDecaySchedule: LearningRateSchedule {
    /// The rate at step 0.
    var initialLearningRate: Double { get }
    /// The unit of `p`.
    var decaySteps: Double { get }
    /// How fast the rate falls.
    var decayRate: Double { get }
    /// Whether `p` is an integer.
    var staircase: Bool { get }
    /// The schedule with these arguments.
    init(initialLearningRate: Double, decaySteps: Double, decayRate: Double, staircase: Bool)
}

extension StepDecaySchedule {
    /// `p` at `step`, in float32 as Keras computes it.
    func progress(atStep step: Int64) -> Float {
        let p = Float(step) / Float(decaySteps)
        return staircase ? p.rounded(.down) : p
    }

    public func encodeKerasConfig<Config: ScheduleConfigWriting>(to config: inout Config) {
        config.setDecayStart(initialLearningRate: initialLearningRate, decaySteps: decaySteps)
        config.set("decay_rate", decayRate)
        config.set("staircase", staircase)
        config.set("name", Self.kerasClassName)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config) throws -> Self {
        let start = try decayStart(config)
        return Self(initialLearningRate: start.initialLearningRate, decaySteps: start.decaySteps,
                    decayRate: try config.required("decay_rate").number(), staircase: try config["staircase"]?.bool() ?? false)
    }
}

/// A `decay_steps`-like option that must be positive (Keras divides by it).
func positiveSteps<Config: KerasConfigReading>(_ config: Config, _ key: String) throws -> Double {
    let value = try config.required(key).number()
    guard value > 0 else { throw KerasConfigProblem.invalidOption(key, message: "\(value) is not positive") }
    return value
}

/// The two arguments every decaying schedule starts with, read in this order: the required
/// `initial_learning_rate` and the positive `stepsKey` (`decay_steps`, or CosineDecayRestarts's
/// `first_decay_steps`). `setDecayStart` writes them.
func decayStart<Config: KerasConfigReading>(_ config: Config, stepsKey: String = "decay_steps") throws
    -> (initialLearningRate: Double, decaySteps: Double) {
    (try config.required("initial_learning_rate").number(), try positiveSteps(config, stepsKey))
}

extension ScheduleConfigWriting {
    /// Writes `initial_learning_rate` and the step count `stepsKey` as Keras writes them (`decayStart` reads them).
    mutating func setDecayStart(initialLearningRate: Double, decaySteps: Double, stepsKey: String = "decay_steps") {
        set("initial_learning_rate", initialLearningRate)
        setSteps(stepsKey, decaySteps)
    }
}
