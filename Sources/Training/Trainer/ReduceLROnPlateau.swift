/// Multiplies the learning rate by `factor` when a monitored log has not improved for
/// `patience` epochs, as Keras's `ReduceLROnPlateau`: an improvement is a change beyond
/// `minDelta` in the better direction; after a reduction `cooldown` epochs pass before
/// waiting starts again; the rate never goes below `minLearningRate`.
///
/// It judges completed epochs only. Its counters, best value and the learning rate it set are
/// part of a ``TrainingSnapshot`` (``ResumableCallback``), so a resumed `fit` continues them and
/// trains with the reduced rate, as the uninterrupted run does. An optimizer whose rate is a
/// ``LearningRateSchedule`` cannot be reduced: `fit` throws when the reduction is due, as
/// Keras refuses to set a scheduled rate.
///
/// ```swift
/// let plateau = try ReduceLROnPlateau(monitor: "val_loss", factor: 0.5, patience: 2, minLearningRate: 1e-5)
/// try trainer.fit(data, epochs: 50, validationData: validation, callbacks: [plateau])
/// ```
public struct ReduceLROnPlateau: ResumableCallback {
    /// The log watched, e.g. `"val_loss"`.
    public let monitor: String
    /// The factor applied to the rate (below 1).
    public let factor: Double
    /// Epochs without improvement before a reduction.
    public let patience: Int
    /// Whether smaller or larger values are better.
    public let direction: EarlyStopping.Direction
    /// The least change that counts as an improvement.
    public let minDelta: Double
    /// Epochs after a reduction during which no waiting is counted.
    public let cooldown: Int
    /// The smallest rate a reduction gives.
    public let minLearningRate: Double
    /// The best value seen.
    public private(set) var best: Double?
    private var wait = 0
    private var cooldownCounter = 0
    /// Whether a reduction was decided, so that the optimizer's rate is the callback's to restore.
    private var hasReduced = false

    /// Keras's defaults; `direction` nil minimizes names containing "loss" and maximizes the rest.
    /// - Throws: ``TrainingError/invalidArgument(layer:message:)`` for a factor of 1 or more (Keras refuses it).
    public init(monitor: String = "val_loss", factor: Double = 0.1, patience: Int = 10, direction: EarlyStopping.Direction? = nil,
                minDelta: Double = 1e-4, cooldown: Int = 0, minLearningRate: Double = 0) throws {
        guard factor < 1, factor > 0 else {
            throw TrainingError.invalidArgument(layer: "ReduceLROnPlateau", message: "factor \(factor) is not in (0, 1)")
        }
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.direction = direction ?? .automatic(for: monitor)
        self.minDelta = abs(minDelta)
        self.cooldown = cooldown
        self.minLearningRate = minLearningRate
    }

    private func improves(_ value: Double) -> Bool {
        guard let best else { return true }
        switch direction {
        case .minimize: return value + minDelta < best
        case .maximize: return value - minDelta > best
        }
    }

    public mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
        guard event.isComplete else { return .proceed }
        guard let value = event.logs[monitor] else {
            throw TrainingError.unknownMonitor(callback: "ReduceLROnPlateau", name: monitor, available: event.logs.keys.sorted())
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            wait = 0
        }
        if improves(value) {
            best = value
            wait = 0
            return .proceed
        }
        guard cooldownCounter == 0 else { return .proceed }
        wait += 1
        guard wait >= patience else { return .proceed }
        cooldownCounter = cooldown
        wait = 0
        hasReduced = true
        return .scaleLearningRate(factor: factor, minimum: minLearningRate)
    }
}

extension ReduceLROnPlateau {
    /// `"ReduceLROnPlateau"`.
    public var stateName: String { "ReduceLROnPlateau" }

    /// `wait`, `cooldown_counter`, `best` once seen, and `learning_rate` (the optimizer's) once
    /// a reduction was made.
    public func resumableState(optimizer: any Optimizer) -> CallbackState {
        var values: [String: Double] = ["wait": Double(wait), "cooldown_counter": Double(cooldownCounter)]
        values["best"] = best
        if hasReduced { values["learning_rate"] = Double(optimizer.learningRate) }
        return CallbackState(values: values, settings: stateSettings)
    }

    /// The monitored log and its direction: what `best` and `wait` are about.
    private var stateSettings: [String: String] { ["monitor": monitor, "direction": "\(direction)"] }

    /// Takes the counters and best value back and, if a reduction had been made, sets the
    /// optimizer's rate to the reduced one (the rate of the trainer's optimizer otherwise stays).
    public mutating func restore(_ state: CallbackState, optimizer: inout any Optimizer) throws {
        try state.checkSettings(stateSettings, callback: "ReduceLROnPlateau")
        wait = state.count("wait")
        cooldownCounter = state.count("cooldown_counter")
        best = state.values["best"]
        if let rate = state.values["learning_rate"] {
            hasReduced = true
            optimizer.learningRate = Float(rate)
        }
    }
}

extension CallbackDecision {
    /// Applies ``scaleLearningRate(factor:minimum:)`` to `optimizer` as Keras's
    /// `ReduceLROnPlateau` does (in double, from and to the float32 rate, only while the rate
    /// is above the minimum); other decisions change nothing.
    package func applyLearningRateChange(to optimizer: inout any Optimizer) throws {
        guard case let .scaleLearningRate(factor, minimum) = self else { return }
        if let described = optimizer as? any KerasOptimizer, case .schedule(let schedule) = described.options.learningRate {
            throw TrainingError.invalidArgument(
                layer: "ReduceLROnPlateau", message: "the optimizer's learning rate is a schedule (\(schedule)), which cannot be reduced")
        }
        let old = Double(optimizer.learningRate)
        guard old > Double(Float(minimum)) else { return }
        optimizer.learningRate = Float(max(old * factor, minimum))
    }
}
