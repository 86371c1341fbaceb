import Foundation

/// Why a workflow (``TrainJob``, ``TrainingData``, ``ModelPrediction``) refused its data or its
/// settings. Cases name the file, the dataset path, the row and column, or the setting at
/// fault, in the library's words: a command line maps ``Setting`` to its own flags.
///
/// Errors of the files a workflow reads (a model file, a checkpoint) stay what the format
/// throws (``/Checkpoints/CheckpointError``, ``/HDF5/HDF5Error``).
///
/// ```swift
/// do { try job.run(progress: .quiet) }
/// catch let error as WorkflowError { print(error.localizedDescription) }
/// // "d.h5: /x row 1, column 2: feature value nan is not finite (1 non-finite value in 24)"
/// ```
public enum WorkflowError: Error, Equatable, Sendable, LocalizedError {
    /// The settings of a workflow that an error can be about, as its properties name them.
    public enum Setting: String, Sendable, CaseIterable {
        /// ``TrainJob/model``.
        case model
        /// ``TrainJob/layers`` (a model built from a ``LayerSpec`` list).
        case layers
        /// ``TrainJob/inputFeatures``.
        case inputs
        /// ``TrainJob/loss``.
        case loss
        /// ``TrainJob/optimizer``.
        case optimizer
        /// ``TrainJob/momentum``.
        case momentum
        /// ``TrainJob/learningRate``.
        case learningRate
        /// ``TrainJob/nesterov``.
        case nesterov
        /// ``TrainJob/weightDecay``.
        case weightDecay
        /// ``TrainJob/clipnorm``.
        case clipnorm
        /// ``TrainJob/clipvalue``.
        case clipvalue
        /// ``TrainJob/globalClipnorm``.
        case globalClipnorm
        /// ``TrainJob/epochs``.
        case epochs
        /// ``TrainJob/batchSize`` or the batch size of ``ModelPrediction``.
        case batchSize
        /// ``TrainJob/validationSplit``.
        case validationSplit
        /// ``TrainJob/shuffleBuffer``.
        case shuffleBuffer
        /// ``TrainJob/resume``.
        case resume
        /// ``TrainJob/output``.
        case output
        /// ``TrainJob/EarlyStoppingSettings/patience`` (early stopping on or off).
        case earlyStoppingPatience
        /// ``TrainJob/EarlyStoppingSettings/monitor``.
        case earlyStoppingMonitor
        /// ``TrainJob/EarlyStoppingSettings/minDelta``.
        case earlyStoppingMinDelta
        /// ``TrainJob/EarlyStoppingSettings/restoreBestWeights``.
        case restoreBestWeights
        /// ``TrainJob/PlateauSettings/patience`` (the learning-rate reduction on or off).
        case reduceLRPatience
        /// ``TrainJob/PlateauSettings/factor``.
        case reduceLRFactor
        /// ``TrainJob/PlateauSettings/monitor``.
        case reduceLRMonitor
        /// ``TrainJob/csvLog``.
        case csvLog
    }

    /// A data file (training features or targets, prediction inputs) cannot be used with the
    /// model: no rows, a NaN or infinity, a label outside the model's classes, a stored type or
    /// a shape the model cannot take, or no such dataset. `row` and `column` locate the first
    /// offending value when there is one.
    case invalidData(file: String, path: String, row: Int?, column: Int?, message: String)

    /// A data file could not be opened or read at all (`message` says why).
    case unreadableData(file: String, message: String)

    /// A setting is missing, out of range or contradicts another: `problem` says which and
    /// what to do; `file` is the model file or output concerned, when there is one.
    case invalidSetting(file: String?, setting: Setting, problem: String)

    /// A setting given with ``TrainJob/resume`` differs from what the checkpoint holds: a
    /// resume continues the saved optimizer, so `setting` (``Setting/optimizer`` or one of its
    /// hyper-parameters other than the learning rate) may only repeat the checkpoint's value.
    case resumeOptionConflict(file: String, setting: Setting, checkpoint: String, given: String)

    /// A callback setting given with ``TrainJob/resume`` (early stopping, the learning-rate
    /// reduction: ``TrainJob/earlyStopping``, ``TrainJob/reduceLROnPlateau``) differs from the one
    /// the checkpointed run trained with: a resume continues the saved callback states, which
    /// mean nothing under other settings, so `setting` must repeat the checkpoint's (`"none"`: off).
    case resumeCallbackConflict(file: String, setting: Setting, checkpoint: String, given: String)

    /// An item of a ``LayerSpec`` text (`--layers`) that is not a layer Batchwise can build:
    /// `item` is the offending text, `position` its place in the list (1 for the first item).
    case invalidLayerSpec(spec: String, item: String, position: Int, problem: String)

    /// A model file's compile config names an optimizer or a loss Batchwise cannot run (the
    /// class, or one of its options): `name` is the Keras class or name, `path` its JSON path
    /// in the file's config. Training with something else would silently differ, so give
    /// `setting` (``Setting/optimizer`` or ``Setting/loss``) instead.
    case unsupportedCompileConfig(file: String, path: String, name: String, setting: Setting)

    /// No registered ``ModelFileLoader`` recognizes the file; `formats` lists those tried.
    case unknownModelFormat(file: String, formats: [String])

    /// `FILE:/dataset` text that does not name a file and a dataset.
    case invalidLocation(text: String, problem: String)

    /// An output file could not be put in place (`message` says why).
    case unwritableOutput(file: String, message: String)

    /// One line naming the file, the dataset and position, or the setting.
    public var errorDescription: String? {
        switch self {
        case let .invalidData(file, path, row, column, message):
            let position = [row.map { "row \($0)" }, column.map { "column \($0)" }].compactMap { $0 }.joined(separator: ", ")
            return "\(file): \(path)" + (position.isEmpty ? "" : " " + position) + ": \(message)"
        case let .unreadableData(file, message), let .unwritableOutput(file, message):
            return "\(file): \(message)"
        case let .invalidSetting(file, _, problem):
            return file.map { "\($0): \(problem)" } ?? problem
        case let .resumeOptionConflict(file, setting, checkpoint, given):
            return "\(file): \(setting.rawValue) \(given) conflicts with the checkpoint's \(checkpoint); a resume "
                + "continues the saved optimizer: leave \(setting.rawValue) unset or give the checkpoint's value"
        case let .resumeCallbackConflict(file, setting, checkpoint, given):
            return "\(file): \(setting.rawValue) \(given) differs from the checkpointed run's \(checkpoint); a resume continues "
                + "the saved callback states: give the checkpoint's value (or start a new run from its weights with model)"
        case let .invalidLayerSpec(spec, item, position, problem):
            return "layer spec \"\(spec)\": item \(position) \"\(item)\": \(problem)"
        case let .unsupportedCompileConfig(file, path, name, setting):
            return "\(file): compile config \(path): '\(name)' is not supported by Batchwise; set the \(setting.rawValue) explicitly"
        case let .unknownModelFormat(file, formats):
            return "\(file): not a model file Batchwise can load (formats: \(formats.joined(separator: ", ")))"
        case let .invalidLocation(text, problem):
            return "\(text): \(problem)"
        }
    }
}
