import Checkpoints
import Foundation
import Training

extension TrainJob {
    /// Keras's `EarlyStopping` for a job (``TrainJob/earlyStopping``), run by the library's
    /// ``/Training/EarlyStopping``.
    public struct EarlyStoppingSettings: Sendable, Equatable {
        /// Epochs without improvement tolerated before stopping (0 or more).
        public var patience: Int
        /// The log watched; nil watches `val_loss` with a ``TrainJob/validationSplit``, else `loss`.
        public var monitor: String?
        /// The least change that counts as an improvement (0 or more).
        public var minDelta = 0.0
        /// Whether training ends with the weights of the best epoch (Keras's `restore_best_weights`).
        public var restoreBestWeights = false

        /// Early stopping after `patience` epochs without improvement, Keras's defaults otherwise.
        public init(patience: Int, monitor: String? = nil, minDelta: Double = 0, restoreBestWeights: Bool = false) {
            (self.patience, self.monitor, self.minDelta, self.restoreBestWeights) = (patience, monitor, minDelta, restoreBestWeights)
        }
    }

    /// Keras's `ReduceLROnPlateau` for a job (``TrainJob/reduceLROnPlateau``), run by the
    /// library's ``/Training/ReduceLROnPlateau`` with Keras's `min_delta` (1e-4), no cooldown
    /// and no floor.
    public struct PlateauSettings: Sendable, Equatable {
        /// Epochs without improvement before the learning rate is multiplied by ``factor`` (0 or more).
        public var patience: Int
        /// The factor, in (0, 1).
        public var factor = 0.1
        /// The log watched; nil watches `val_loss` with a ``TrainJob/validationSplit``, else `loss`.
        public var monitor: String?

        /// A reduction after `patience` epochs without improvement, Keras's defaults otherwise.
        public init(patience: Int, factor: Double = 0.1, monitor: String? = nil) {
            (self.patience, self.factor, self.monitor) = (patience, factor, monitor)
        }
    }

    /// The log a callback watches when none is named: Keras's `val_loss`, which exists only
    /// with held-out rows, else `loss`.
    var defaultMonitor: String { validationSplit > 0 ? "val_loss" : "loss" }

    /// Refuses callback settings out of range and a ``csvLog`` that cannot be written, before any
    /// file is read (a launcher checks them before starting its processes). Nothing is created.
    public func checkCallbackSettings() throws {
        if let earlyStopping {
            guard earlyStopping.patience >= 0 else {
                throw WorkflowError.invalidSetting(file: nil, setting: .earlyStoppingPatience,
                                                   problem: "the patience must be 0 or more epochs, got \(earlyStopping.patience)")
            }
            guard earlyStopping.minDelta.isFinite, earlyStopping.minDelta >= 0 else {
                throw WorkflowError.invalidSetting(file: nil, setting: .earlyStoppingMinDelta,
                                                   problem: "the minimum change must be 0 or more, got \(earlyStopping.minDelta)")
            }
        }
        if let plateau = reduceLROnPlateau {
            guard plateau.patience >= 0 else {
                throw WorkflowError.invalidSetting(file: nil, setting: .reduceLRPatience,
                                                   problem: "the patience must be 0 or more epochs, got \(plateau.patience)")
            }
            guard plateau.factor > 0, plateau.factor < 1 else {
                throw WorkflowError.invalidSetting(file: nil, setting: .reduceLRFactor,
                                                   problem: "the factor must be in (0, 1), got \(plateau.factor)")
            }
        }
        if let csvLog { try Self.checkWritable(csvLog) }
    }

    /// Refuses a log file whose folder is missing or not writable, or that exists and is a
    /// folder or not writable: found only after the first epoch, it would cost that epoch.
    private static func checkWritable(_ file: URL) throws {
        let folder = file.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        let problem: String?
        if FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) {
            problem = isDirectory.boolValue ? "is a folder" : access(file.path, W_OK) == 0 ? nil : "is not writable"
        } else if !FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) || !isDirectory.boolValue {
            problem = "the folder \(folder.path) does not exist"
        } else {
            problem = access(folder.path, W_OK) == 0 ? nil : "the folder \(folder.path) is not writable"
        }
        if let problem { throw WorkflowError.invalidSetting(file: file.path, setting: .csvLog, problem: problem) }
    }

    /// The job's callbacks for a `fit` of `model` with `loss` (either trainer), checked against
    /// the logs that fit produces (`loss`, the default metrics, `val_` ones with a
    /// ``validationSplit``) and, for a resume, against the settings the checkpointed run
    /// recorded (``WorkflowError/resumeCallbackConflict(file:setting:checkpoint:given:)`` when they differ).
    ///
    /// With ``resume``, ``csvLog`` is continued as Keras's `CSVLogger(append=True)` continues it.
    func trainingCallbacks(model: Sequential, loss: Loss, optimizer: OptimizerConfig,
                           resuming snapshot: TrainingSnapshot?) throws -> [any TrainingCallback] {
        try checkCallbackSettings()
        if reduceLROnPlateau != nil, case let .schedule(schedule) = optimizer.prototype.options.learningRate {
            // Found when the first reduction is due otherwise, after epochs of training.
            throw WorkflowError.invalidSetting(
                file: (resume ?? self.model)?.path, setting: .reduceLRPatience,
                problem: "the optimizer's learning rate is a schedule (\(schedule)), which cannot be reduced; set a constant learning rate")
        }
        let logs = Set(["loss"] + Trainer.defaultMetrics(model: model, loss: loss).map(\.name))
            .union(validationSplit > 0 ? ["val_loss"] + Trainer.defaultMetrics(model: model, loss: loss).map { "val_" + $0.name } : [])
        for (monitor, setting) in [(earlyStopping?.monitor, WorkflowError.Setting.earlyStoppingMonitor),
                                   (reduceLROnPlateau?.monitor, .reduceLRMonitor)] {
            guard let monitor, !logs.contains(monitor) else { continue }
            let hint = monitor.hasPrefix("val_") && validationSplit == 0 ? " (val_ logs need a validation split)" : ""
            throw WorkflowError.invalidSetting(
                file: nil, setting: setting,
                problem: "this run records no log '\(monitor)'\(hint); it records \(logs.sorted().joined(separator: ", "))")
        }
        if let snapshot { try checkResumedCallbackSettings(snapshot) }
        var callbacks: [any TrainingCallback] = []
        if let stopping = earlyStoppingCallback { callbacks.append(stopping) }
        if let settings = reduceLROnPlateau {
            callbacks.append(try ReduceLROnPlateau(monitor: settings.monitor ?? defaultMonitor, factor: settings.factor,
                                                   patience: settings.patience))
        }
        if let csvLog { callbacks.append(CSVLogger(url: csvLog, append: snapshot != nil)) }
        let recorded = recordedCallbackSettings
        if !recorded.isEmpty { callbacks.append(CallbackSettingsRecord(settings: recorded)) }
        return callbacks
    }

    /// The callback settings that change what training does, as a checkpoint records them
    /// (``CallbackSettingsRecord``); empty without early stopping or a learning-rate reduction.
    var recordedCallbackSettings: [String: String] {
        var settings: [String: String] = [:]
        if let stop = earlyStopping {
            settings[WorkflowError.Setting.earlyStoppingPatience.rawValue] = "\(stop.patience)"
            settings[WorkflowError.Setting.earlyStoppingMonitor.rawValue] = stop.monitor ?? defaultMonitor
            settings[WorkflowError.Setting.earlyStoppingMinDelta.rawValue] = "\(stop.minDelta)"
            settings[WorkflowError.Setting.restoreBestWeights.rawValue] = "\(stop.restoreBestWeights)"
        }
        if let plateau = reduceLROnPlateau {
            settings[WorkflowError.Setting.reduceLRPatience.rawValue] = "\(plateau.patience)"
            settings[WorkflowError.Setting.reduceLRFactor.rawValue] = "\(plateau.factor)"
            settings[WorkflowError.Setting.reduceLRMonitor.rawValue] = plateau.monitor ?? defaultMonitor
        }
        return settings
    }

    /// Refuses to resume `snapshot` with other callback settings than the run that wrote it:
    /// its early-stopping counters and best value (or learning-rate reduction's) would be
    /// continued under settings they were not counted for, or dropped, and the run would
    /// silently differ from the uninterrupted one. A checkpoint written without these callbacks
    /// records nothing, and counts as every setting `"none"`.
    private func checkResumedCallbackSettings(_ snapshot: TrainingSnapshot) throws {
        let saved = snapshot.callbackStates[CallbackSettingsRecord.name]?.settings ?? [:]
        let current = recordedCallbackSettings
        for setting in WorkflowError.Setting.allCases {
            let (checkpoint, given) = (saved[setting.rawValue] ?? "none", current[setting.rawValue] ?? "none")
            guard checkpoint != given else { continue }
            throw WorkflowError.resumeCallbackConflict(file: resume?.path ?? "", setting: setting, checkpoint: checkpoint, given: given)
        }
    }

    /// The job's ``/Training/EarlyStopping`` (nil without ``earlyStopping``). A `fit` resumed from
    /// the checkpoint it stopped at trains nothing more (the library's
    /// ``/Training/TrainingCallback/stopReason(resumingAt:)``), so a job asks `fit` for ``epochs`` either way.
    var earlyStoppingCallback: EarlyStopping? {
        earlyStopping.map { EarlyStopping(monitor: $0.monitor ?? defaultMonitor, patience: $0.patience,
                                          minDelta: $0.minDelta, restoreBest: $0.restoreBestWeights) }
    }

    /// Whether `snapshot` is where early stopping stopped, as the library reads its state
    /// (``/Training/EarlyStopping/stopReason(resumingFrom:)``). A state whose settings differ
    /// counts as no stop: `fit` refused it before training (`TrainingError.incompatibleSnapshot`).
    func earlyStoppingStopped(at snapshot: TrainingSnapshot) -> Bool {
        guard let stopping = earlyStoppingCallback else { return false }
        return (try? stopping.stopReason(resumingFrom: snapshot)) != nil
    }

    /// What a job's `fit` ending prints, as Keras's `EarlyStopping(verbose=1)` does: the epoch
    /// early stopping stopped at (one-based) and, with ``EarlyStoppingSettings/restoreBestWeights``,
    /// the epoch whose weights were restored. `last` is the last end-of-epoch snapshot (or the
    /// resumed one): its ``/Training/EarlyStopping`` state says both.
    public func earlyStoppingLines(last: TrainingSnapshot?) -> [String] {
        guard let settings = earlyStopping, let last else { return [] }
        var lines: [String] = []
        if earlyStoppingStopped(at: last) { lines.append("Epoch \(last.epoch): early stopping") }
        if settings.restoreBestWeights, let best = last.callbackStates["EarlyStopping"]?.values["best_epoch"] {
            lines.append("Restoring model weights from the end of the best epoch: \(Int(best) + 1).")
        }
        return lines
    }
}

/// Records a job's callback settings in every snapshot (under `/callbacks/batchwise_train` in a
/// native checkpoint), so that a resume can tell whether it was given the same ones
/// (``WorkflowError/resumeCallbackConflict(file:setting:checkpoint:given:)``). It keeps no state of its own and changes nothing.
struct CallbackSettingsRecord: ResumableCallback {
    static let name = "batchwise_train"
    let settings: [String: String]

    var stateName: String { Self.name }

    /// The settings, with one value: a state without values is not stored.
    func resumableState(optimizer: any Optimizer) -> CallbackState {
        CallbackState(values: ["version": 1], settings: settings)
    }

    /// Nothing to continue: the settings were compared before training (`TrainJob.trainingCallbacks`).
    mutating func restore(_ state: CallbackState, optimizer: inout any Optimizer) throws {}
}
