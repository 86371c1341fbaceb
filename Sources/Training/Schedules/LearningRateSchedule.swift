/// A learning rate computed from the optimizer's step counter, as a Keras 3
/// `LearningRateSchedule`: values are computed in float32 in Keras's operation order, and the
/// schedule describes itself (class name and config) so that `.keras` compile configs and
/// checkpoints carry it both ways.
///
/// ```swift
/// let schedule = ExponentialDecay(initialLearningRate: 0.1, decaySteps: 100, decayRate: 0.5)
/// var adam = Adam(options: OptimizerOptions(learningRate: .schedule(schedule)))
/// schedule.learningRate(atStep: 100)            // 0.05
/// ```
public protocol LearningRateSchedule: Sendable, CustomStringConvertible {
    /// The rate at `step` (Keras passes the optimizer's `_iterations`, counting micro-steps).
    func learningRate(atStep step: Int64) -> Float
    /// The Keras class name (`"ExponentialDecay"`).
    static var kerasClassName: String { get }
    /// Writes the schedule's config (Keras names; `name` included).
    func encodeKerasConfig<Config: ScheduleConfigWriting>(to config: inout Config)
    /// The schedule a Keras config describes; refuses what Batchwise cannot reproduce.
    static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config) throws -> Self
}

/// A ``KerasConfigWriting`` that also writes lists of numbers (`boundaries`, `values`).
public protocol ScheduleConfigWriting: KerasConfigWriting {
    /// Sets `key` to a list of numbers.
    mutating func set(_ key: String, _ values: [Double])
}

extension ScheduleConfigWriting {
    /// A step count, written as an integer when it is one (as Keras writes `decay_steps`).
    mutating func setSteps(_ key: String, _ value: Double) {
        if value.rounded() == value, abs(value) < 1e15 { set(key, Int(value)) } else { set(key, value) }
    }
}

extension LearningRateSchedule {
    /// `ClassName(key: value, ...)` with the keys sorted: equal text means an equal schedule.
    public var description: String {
        var writer = DescribingScheduleWriter()
        encodeKerasConfig(to: &writer)
        return "\(Self.kerasClassName)(" + writer.entries.entries.sorted { $0.key < $1.key }
            .map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")"
    }
}

/// Records a schedule's config as printed values, for ``LearningRateSchedule/description``.
struct DescribingScheduleWriter: ScheduleConfigWriting {
    var entries = IdentityConfigWriter()
    mutating func set(_ key: String, _ value: Int) { entries.set(key, value) }
    mutating func set(_ key: String, _ value: Double) { entries.set(key, value) }
    mutating func set(_ key: String, _ value: Bool) { entries.set(key, value) }
    mutating func set(_ key: String, _ value: String) { entries.set(key, value) }
    mutating func set(_ key: String, _ value: [Int]) { entries.set(key, value) }
    mutating func set(_ key: String, _ value: [[Int]]) { entries.set(key, value) }
    mutating func setNull(_ key: String) {}
    mutating func setInitializer(_ key: String, className: String, seeded: Bool) {}
    mutating func set(_ key: String, _ values: [Double]) { entries.entries[key] = "\(values)" }
}

/// The schedule types a Keras config can name. Its `all` is generated at build time
/// (Plugins/TypeRegistryPlugin): every type of this module that conforms to
/// ``LearningRateSchedule``, so a new schedule is its own file and nothing else.
public enum LearningRateScheduleTypes {
    /// The type Keras calls `name`; nil when Batchwise has none.
    public static func type(named name: String) -> (any LearningRateSchedule.Type)? {
        let bare = name.split(separator: ">").last.map(String.init) ?? ""
        return all.first { $0.kerasClassName == bare }
    }
}
