import Foundation
import HDF5
import Training

/// An optimizer's config as attributes of a native checkpoint's `/optimizer` group: the same
/// Keras names and values a `.keras` compile config holds (numbers as float64, booleans as
/// int8, integers as int64; nulls are left out), written and read through the optimizer's own
/// ``/Training/KerasOptimizer`` description.
enum OptimizerAttributes {
    static let group = "/optimizer"
    /// A schedule, as the JSON of its Keras serialization.
    static let scheduleAttribute = "learning_rate_schedule"

    static func write(_ config: OptimizerConfig, iterations: Int64, to file: HDF5File) throws {
        let optimizer = config.prototype
        try file.setAttribute("kind", config.kind, on: group)
        var collected = Collector()
        optimizer.encodeKerasConfig(to: &collected)
        optimizer.options.encodeKerasConfig(to: &collected)
        switch optimizer.options.learningRate {
        case .constant(let rate):
            try file.setAttribute("learning_rate", rate, on: group)
        case .schedule(let schedule):
            // The rate of the next step, for readers that do not know schedules.
            try file.setAttribute("learning_rate", schedule.learningRate(atStep: iterations), on: group)
            try file.setAttribute(scheduleAttribute, try JSONText.serialize(KerasOptimizerCodec.scheduleObject(schedule)),
                                  on: group)
        }
        for (name, value) in collected.attributes {
            switch value {
            case .double(let number): try file.setAttribute(name, number, on: group)
            case .integer(let number): try file.setAttribute(name, number, on: group)
            case .flag(let flag): try file.setAttribute(name, flag, on: group)
            case .text(let text): try file.setAttribute(name, text, on: group)
            }
        }
    }

    /// The optimizer the attributes describe; names the attribute at fault.
    static func read(from file: HDF5File, name: String) throws -> OptimizerConfig {
        let reader = Reader(file: file, key: nil, name: name)
        let kind = try reader.required("kind").string()
        guard let optimizerType = KerasOptimizerTypes.type(named: kind) else {
            throw CheckpointError.unsupportedOptimizer(file: name, path: "\(group)@kind", className: kind, option: nil, value: nil)
        }
        let learningRate: LearningRate
        if try file.hasAttribute(scheduleAttribute, of: group) {
            let text = try reader.required(scheduleAttribute).string()
            let json = try KerasJSON.parse(text, file: "\(name)@\(group)/\(scheduleAttribute)")
            learningRate = try KerasOptimizerCodec.learningRate(from: KerasJSON(value: ["learning_rate": json.value], path: json.path, file: json.file))
        } else {
            learningRate = .constant(try reader.required("learning_rate").float())
        }
        do {
            let options = try OptimizerOptions.decodeKerasConfig(reader, learningRate: learningRate)
            return try OptimizerConfig(optimizerType.decodeKerasConfig(reader, options: options))
        } catch let KerasConfigProblem.unsupportedOption(option, value) {
            throw CheckpointError.unsupportedOptimizer(file: name, path: "\(group)@\(option)", className: kind, option: option, value: value)
        } catch let KerasConfigProblem.invalidOption(option, message) {
            throw CheckpointError.invalidCheckpoint(file: name, object: group, reason: "attribute '\(option)': \(message)")
        }
    }

    enum Value {
        case double(Double), integer(Int64), flag(Int8), text(String)
    }

    /// Collects a config as attributes, in writing order.
    struct Collector: KerasConfigWriting {
        var attributes: [(String, Value)] = []
        mutating func set(_ key: String, _ value: Int) { attributes.append((key, .integer(Int64(value)))) }
        mutating func set(_ key: String, _ value: Double) { attributes.append((key, .double(value))) }
        mutating func set(_ key: String, _ value: Bool) { attributes.append((key, .flag(value ? 1 : 0))) }
        mutating func set(_ key: String, _ value: String) { attributes.append((key, .text(value))) }
        // No optimizer option is a list of integers (those are layer options); should one
        // appear, it is kept as its JSON text rather than dropped.
        mutating func set(_ key: String, _ value: [Int]) { attributes.append((key, .text("\(value)"))) }
        mutating func set(_ key: String, _ value: [[Int]]) { attributes.append((key, .text("\(value)"))) }
        mutating func setNull(_ key: String) {}
        mutating func setInitializer(_ key: String, className: String, seeded: Bool) { attributes.append((key, .text(className))) }
    }

    /// Reads the `/optimizer` attributes as an optimizer decodes its Keras config; errors name the attribute.
    struct Reader: KerasConfigReading {
        let file: HDF5File
        let key: String?
        let name: String

        subscript(key: String) -> Reader? {
            guard self.key == nil, (try? file.hasAttribute(key, of: OptimizerAttributes.group)) == true else { return nil }
            return Reader(file: file, key: key, name: name)
        }

        func required(_ key: String) throws -> Reader {
            guard let member = self[key] else {
                throw CheckpointError.invalidCheckpoint(file: name, object: OptimizerAttributes.group,
                                                        reason: "attribute '\(key)' is missing")
            }
            return member
        }

        private func read<V: HDF5AttributeValue>(_ type: V.Type) throws -> V {
            guard let key else {
                throw CheckpointError.invalidCheckpoint(file: name, object: OptimizerAttributes.group, reason: "not an attribute")
            }
            do {
                return try file.readAttribute(key, of: OptimizerAttributes.group, as: V.self)
            } catch {
                throw CheckpointError.invalidCheckpoint(file: name, object: OptimizerAttributes.group,
                                                        reason: "attribute '\(key)': \(error.localizedDescription)")
            }
        }

        func number() throws -> Double { try read(Double.self) }
        /// Read as stored (float32), not through `number()`, so the rate is not rounded twice.
        func float() throws -> Float { try read(Float.self) }
        func integer() throws -> Int { Int(try read(Int64.self)) }
        func bool() throws -> Bool { try read(Int8.self) != 0 }
        func string() throws -> String { try read(String.self) }
        func array() throws -> [Reader] {
            throw CheckpointError.invalidCheckpoint(file: name, object: OptimizerAttributes.group,
                                                    reason: "attribute '\(key ?? "")' cannot be a list")
        }
        var text: String { key.map { "attribute \($0)" } ?? OptimizerAttributes.group }
        var maximumWidth: Int { Int.max }
    }
}
