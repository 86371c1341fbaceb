import Checkpoints
import Training

/// Which optimizer a ``TrainJob`` trains with: a fresh one of ``TrainJob/optimizer`` with the
/// job's hyper-parameters, the model file's with the job's settings overriding its own, or, for
/// a resume, the checkpoint's (whose settings the job may only repeat, learning rate aside).
extension TrainJob {
    /// The command line's optimizer (fresh state) or the file's (with its state); for a resume,
    /// always the checkpoint's (`resumedOptimizer`).
    func resolvedOptimizer(_ start: inout Start) throws -> OptimizerConfig {
        if start.snapshot != nil, let saved = start.fileOptimizer { return try resumedOptimizer(saved) }
        guard let optimizer else {
            guard let config = start.fileOptimizer else {
                if let unsupported = start.unsupportedOptimizer {
                    throw WorkflowError.unsupportedCompileConfig(file: model?.path ?? "", path: unsupported.path,
                                                                 name: unsupported.name, setting: .optimizer)
                }
                throw WorkflowError.invalidSetting(
                    file: model?.path, setting: .optimizer,
                    problem: (buildsModel ? "a model built here has no optimizer yet" : "the model file has no optimizer")
                        + "; set optimizer (" + OptimizerKind.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            for (setting, given) in [(WorkflowError.Setting.momentum, momentum != nil), (.nesterov, nesterov != nil)] where given {
                // Momentum and Nesterov belong to one optimizer kind (and add slots), so they are
                // set with it; ignoring them would train without the setting asked for. The options
                // every optimizer has (rate, decay, clipping) override the file's below.
                throw WorkflowError.invalidSetting(
                    file: model?.path, setting: setting,
                    problem: "\(setting.rawValue) applies to \(setting == .momentum ? "sgd and rmsprop" : "sgd only"), set as optimizer; "
                        + "without it the model file's optimizer (\(config.kind)) is used as saved")
            }
            var file = config.prototype
            file.options = try overriddenOptions(file.options, file: model?.path)
            return try OptimizerConfig(file)
        }
        start.optimizerState = OptimizerState()
        return try OptimizerConfig(freshOptimizer(optimizer))
    }

    /// A new optimizer of `kind` with the job's settings and Keras's defaults for the rest.
    private func freshOptimizer(_ kind: OptimizerKind) throws -> any KerasOptimizer {
        if momentum != nil, ![.sgd, .rmsprop].contains(kind) {
            throw WorkflowError.invalidSetting(file: nil, setting: .momentum, problem: "momentum applies to sgd and rmsprop only")
        }
        if nesterov != nil, kind != .sgd {
            throw WorkflowError.invalidSetting(file: nil, setting: .nesterov, problem: "nesterov applies to sgd only")
        }
        if let momentum, !(0...1).contains(momentum) {
            throw WorkflowError.invalidSetting(file: nil, setting: .momentum, problem: "momentum \(momentum) is outside [0, 1]")
        }
        let options = try overriddenOptions(OptimizerOptions(learningRate: kind == .sgd ? 0.01 : 0.001), file: nil)
        return switch kind {
        case .sgd: SGD(options: options, momentum: momentum ?? 0, nesterov: nesterov ?? false)
        case .adam: Adam(options: options)
        case .adamw: AdamW(options: options)
        case .rmsprop: RMSprop(options: options, momentum: momentum ?? 0)
        case .adagrad: Adagrad(options: options)
        case .nadam: Nadam(options: options)
        case .lion: Lion(options: options)
        }
    }

    /// `options` with the job's learning rate, weight decay and clipping where set; a clipping
    /// option given replaces whichever the optimizer had (Keras allows one).
    private func overriddenOptions(_ options: OptimizerOptions, file: String?) throws -> OptimizerOptions {
        var options = options
        if let learningRate {
            guard learningRate.isFinite, learningRate > 0 else {
                throw WorkflowError.invalidSetting(file: nil, setting: .learningRate, problem: "learning rate \(learningRate) is not positive")
            }
            options.learningRate = .constant(learningRate)
        }
        for (setting, value) in [(WorkflowError.Setting.weightDecay, weightDecay), (.clipnorm, clipnorm), (.clipvalue, clipvalue),
                                 (.globalClipnorm, globalClipnorm)] {
            guard let value else { continue }
            guard value.isFinite, setting == .weightDecay ? value >= 0 : value > 0 else {
                throw WorkflowError.invalidSetting(file: nil, setting: setting,
                                                   problem: "\(setting.rawValue) \(value) is not \(setting == .weightDecay ? "0 or more" : "positive")")
            }
        }
        if let weightDecay { options.weightDecay = weightDecay }
        if clipnorm != nil || clipvalue != nil || globalClipnorm != nil {
            (options.clipnorm, options.clipvalue, options.globalClipnorm) = (clipnorm, clipvalue, globalClipnorm)
        }
        do {
            try options.validate()
        } catch let .invalidOption(option, message) {
            let setting: WorkflowError.Setting = switch option {
            case "clipvalue": .clipvalue
            case "global_clipnorm": .globalClipnorm
            default: .clipnorm
            }
            throw WorkflowError.invalidSetting(file: file, setting: setting, problem: "\(option) \(message)")
        } catch {
            throw WorkflowError.invalidSetting(file: file, setting: .optimizer, problem: "\(error)")
        }
        return options
    }

    /// The checkpoint's optimizer, with `learningRate` when given: a resume continues the saved
    /// state, so the optimizer and its other settings may only repeat what the checkpoint holds
    /// (a script re-running the command line that wrote it); a different value is refused, naming it.
    private func resumedOptimizer(_ saved: OptimizerConfig) throws -> OptimizerConfig {
        func conflict(_ setting: WorkflowError.Setting, checkpoint: String, given: String) -> WorkflowError {
            .resumeOptionConflict(file: resume?.path ?? "", setting: setting, checkpoint: checkpoint, given: given)
        }
        if let optimizer, optimizer.rawValue != saved.kind {
            throw conflict(.optimizer, checkpoint: saved.kind, given: optimizer.rawValue)
        }
        if let momentum {
            let savedMomentum = (saved.prototype as? SGD)?.momentum ?? (saved.prototype as? RMSprop)?.momentum
            guard let savedMomentum else {
                throw conflict(.momentum, checkpoint: "none (\(saved.kind) has no momentum)", given: "\(momentum)")
            }
            if momentum != savedMomentum {
                throw conflict(.momentum, checkpoint: "\(savedMomentum)", given: "\(momentum)")
            }
        }
        if let nesterov, nesterov != ((saved.prototype as? SGD)?.nesterov ?? false) {
            throw conflict(.nesterov, checkpoint: "\((saved.prototype as? SGD)?.nesterov ?? false)", given: "\(nesterov)")
        }
        let options = saved.prototype.options
        for (setting, given, stored) in [(WorkflowError.Setting.weightDecay, weightDecay, options.weightDecay),
                                         (.clipnorm, clipnorm, options.clipnorm), (.clipvalue, clipvalue, options.clipvalue),
                                         (.globalClipnorm, globalClipnorm, options.globalClipnorm)] {
            if let given, given != stored {
                throw conflict(setting, checkpoint: stored.map { "\($0)" } ?? "none", given: "\(given)")
            }
        }
        return learningRate.map { saved.withLearningRate($0) } ?? saved
    }
}
