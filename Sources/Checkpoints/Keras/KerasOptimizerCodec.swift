import Foundation
import HDF5
import Training

/// Optimizers and learning-rate schedules as Keras 3 serializes them
/// (`{"module": "keras.optimizers", "class_name": "Adam", "config": {...}}`), in both
/// directions, through the self-description of ``/Training/KerasOptimizer`` and
/// ``/Training/LearningRateSchedule``: no optimizer or schedule type is named here.
enum KerasOptimizerCodec {
    /// The serialized optimizer, as `compile_config.optimizer`.
    static func object(for optimizer: any Optimizer) throws -> [String: Any] {
        guard let described = optimizer as? any KerasOptimizer else {
            throw CheckpointError.unsupported(file: "", what: "optimizer \(type(of: optimizer)) has no Keras equivalent")
        }
        let optimizerType = type(of: described)
        var config = KerasLayerEncoder.ConfigObject(members: ["name": optimizerType.kerasName])
        described.options.encodeKerasConfig(to: &config)
        described.encodeKerasConfig(to: &config)
        config.members["learning_rate"] = learningRateValue(described.options.learningRate)
        return ["module": "keras.optimizers", "class_name": optimizerType.kerasClassName, "config": config.members,
                "registered_name": NSNull()]
    }

    /// A constant as a number, a schedule as its serialized object.
    static func learningRateValue(_ learningRate: LearningRate) -> Any {
        switch learningRate {
        case .constant(let rate): return Double(rate)
        case .schedule(let schedule): return scheduleObject(schedule)
        }
    }

    static func scheduleObject(_ schedule: any LearningRateSchedule) -> [String: Any] {
        var config = KerasLayerEncoder.ConfigObject(members: [:])
        schedule.encodeKerasConfig(to: &config)
        return ["module": "keras.optimizers.schedules", "class_name": type(of: schedule).kerasClassName,
                "config": config.members, "registered_name": NSNull()]
    }

    /// The optimizer a serialized optimizer describes, nil for a null or absent one.
    /// - Throws: ``CheckpointError/unsupportedOptimizer(file:path:className:option:value:)`` for
    ///   an optimizer, schedule or option Batchwise does not reproduce, naming its JSON path.
    static func optimizer(from value: KerasJSON?) throws -> (any KerasOptimizer)? {
        guard let value, !value.isNull else { return nil }
        let className = try value.required("class_name").string()
        guard let optimizerType = KerasOptimizerTypes.type(named: className) else {
            throw CheckpointError.unsupportedOptimizer(file: value.file, path: value.path + ".class_name",
                                                       className: className, option: nil, value: nil)
        }
        let config = try value.required("config")
        return try locatingProblems(in: config, of: "optimizer \(className)", className: className) {
            let options = try OptimizerOptions.decodeKerasConfig(config, learningRate: try learningRate(from: config))
            return try optimizerType.decodeKerasConfig(config, options: options)
        }
    }

    /// Runs `decode`, turning a ``/Training/KerasConfigProblem`` into a checkpoint error at its path in `config`.
    private static func locatingProblems<T>(in config: KerasJSON, of what: String, className: String,
                                            _ decode: () throws -> T) throws -> T {
        do {
            return try decode()
        } catch let KerasConfigProblem.unsupportedOption(option, optionValue) {
            throw CheckpointError.unsupportedOptimizer(file: config.file, path: config.path + "." + option,
                                                       className: className, option: option, value: optionValue)
        } catch let KerasConfigProblem.invalidOption(option, message) {
            throw CheckpointError.invalidModelConfig(file: config.file, path: config.path + "." + option,
                                                     message: "\(what): \(option) \(message)")
        }
    }

    /// `learning_rate`: a number (0.001 when absent) or a serialized schedule.
    static func learningRate(from config: KerasJSON) throws -> LearningRate {
        guard let value = config["learning_rate"] else { return .constant(0.001) }
        if !value.isObject { return .constant(Float(try value.number())) }
        let className = try value.required("class_name").string()
        guard let scheduleType = LearningRateScheduleTypes.type(named: className) else {
            throw CheckpointError.unsupportedOptimizer(file: value.file, path: value.path + ".class_name",
                                                       className: className, option: nil, value: nil)
        }
        let scheduleConfig = try value.required("config")
        return try locatingProblems(in: scheduleConfig, of: "schedule \(className)", className: className) {
            .schedule(try scheduleType.decodeKerasConfig(scheduleConfig))
        }
    }
}

extension KerasLayerEncoder.ConfigObject: ScheduleConfigWriting {
    mutating func set(_ key: String, _ values: [Double]) { members[key] = values }
}

extension OptimizerConfig {
    /// The optimizer a Keras 3 serialized optimizer describes
    /// (`json.dumps(keras.optimizers.serialize(optimizer))`), with its schedule and options.
    /// - Throws: ``CheckpointError/unsupportedOptimizer(file:path:className:option:value:)`` naming
    ///   the optimizer, schedule or option Batchwise does not reproduce and its JSON path.
    public init(kerasJSON text: String, file: String = "optimizer config") throws {
        let json = try KerasJSON.parse(text, file: file)
        guard let optimizer = try KerasOptimizerCodec.optimizer(from: json) else {
            throw CheckpointError.invalidModelConfig(file: file, path: json.path, message: "null is not an optimizer")
        }
        try self.init(optimizer)
    }

    /// The optimizer serialized as Keras 3 does, compact JSON.
    public func kerasJSON() throws -> String {
        try JSONText.serialize(try KerasOptimizerCodec.object(for: prototype))
    }
}
