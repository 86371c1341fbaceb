import Foundation
import Checkpoints
import Datasets
import HDF5
import Training

/// `batchwise train` as a library call: train a model built from ``layers`` or a Keras
/// architecture JSON, fine-tune a model file or resume a native checkpoint on HDF5 data, checkpointing on the way, and save the result in the format its extension
/// names (`.h5` native checkpoint, `.keras`, `.weights.h5`).
///
/// `epochs` is the TOTAL (Keras `initial_epoch` semantics): resuming a checkpoint taken
/// after epoch 2 with `epochs: 5` trains epochs 3 to 5.
///
/// ```swift
/// var job = TrainJob(data: dataURL, output: URL(fileURLWithPath: "out.h5"))
/// job.model = URL(fileURLWithPath: "model.keras"); job.loss = .binaryCrossentropy; job.optimizer = .adam
/// let history = try job.run(progress: .automatic)
/// ```
public struct TrainJob: Sendable {
    /// The optimizers a job can start fresh, named as Keras and checkpoints name them; each
    /// starts with Keras's defaults for what the job does not set.
    public enum OptimizerKind: String, Sendable, CaseIterable {
        /// ``/Training/SGD``: learning rate 0.01 unless given, momentum 0 and no Nesterov unless given.
        case sgd
        /// ``/Training/Adam``: learning rate 0.001 unless given.
        case adam
        /// ``/Training/AdamW``: learning rate 0.001, weight decay 0.004 unless given.
        case adamw
        /// ``/Training/RMSprop``: learning rate 0.001, momentum 0 unless given.
        case rmsprop
        /// ``/Training/Adagrad``: learning rate 0.001 unless given.
        case adagrad
        /// ``/Training/Nadam``: learning rate 0.001 unless given.
        case nadam
        /// ``/Training/Lion``: learning rate 0.001 unless given.
        case lion
    }

    /// A `.keras` / legacy `.h5` model or a native checkpoint to fine-tune, or a `.json` Keras
    /// architecture (`model.to_json()`, a `.keras` archive's `config.json`) to train from
    /// scratch with weights drawn from ``seed``.
    public var model: URL?
    /// Layers to train from scratch (``LayerSpec/parse(_:)``), on ``inputShape`` inputs,
    /// with weights drawn from ``seed`` by Keras's initializer distributions; instead of
    /// ``model`` and ``resume``.
    public var layers: [LayerSpec]?
    /// The shape of one input example of a model built from ``layers``: `[features]` for rows,
    /// `[height, width, channels]` for images (``LayerSpec/parseInputShape(_:)``).
    public var inputShape: [Int]?
    /// The input width of a model built from ``layers`` over `[rows, features]` data: the
    /// product of ``inputShape``; setting it sets ``inputShape`` to `[inputFeatures]`.
    public var inputFeatures: Int? {
        get { inputShape.map { $0.reduce(1, *) } }
        set { inputShape = newValue.map { [$0] } }
    }
    /// A native checkpoint to continue exactly (pipeline position, optimizer, history).
    public var resume: URL?
    /// The HDF5 file with the training rows.
    public var data: URL
    /// Further files with the same layout as `data`, read after it as one dataset.
    public var moreData: [URL] = []
    /// The features dataset's path in `data`, `[rows, features]`.
    public var x = "/x"
    /// The targets dataset's path in `data`, one row per feature row.
    public var y = "/y"
    /// The loss; defaults to the loss recorded in the model file or checkpoint.
    public var loss: Loss.Kind?
    /// A fresh optimizer of this kind; defaults to the model file's optimizer (with its state).
    /// With `resume` it may only repeat the checkpoint's kind
    /// (``WorkflowError/resumeOptionConflict(file:setting:checkpoint:given:)`` otherwise): a
    /// resume continues the saved optimizer state.
    public var optimizer: OptimizerKind?
    /// The learning rate of a fresh optimizer, or the one overriding the model file's or
    /// checkpoint's; with `resume`, training continues from the exact position with this rate.
    public var learningRate: Float?
    /// SGD or RMSprop momentum; only with `optimizer` `.sgd` or `.rmsprop` (a fine-tune that keeps the
    /// model file's optimizer refuses it rather than ignore it). With `resume` it may only repeat the
    /// checkpoint's momentum.
    public var momentum: Double?
    /// Nesterov momentum; only with `optimizer = .sgd` (with `resume`, only the checkpoint's).
    public var nesterov: Bool?
    /// Decoupled weight decay (Keras's `weight_decay`) of any optimizer; overrides the model
    /// file's (with `resume`, may only repeat the checkpoint's).
    public var weightDecay: Double?
    /// Clips each gradient to this L2 norm (Keras's `clipnorm`); at most one clipping option.
    /// Overrides the model file's clipping (with `resume`, may only repeat the checkpoint's).
    public var clipnorm: Double?
    /// Clips each gradient element to ±this (Keras's `clipvalue`); as ``clipnorm``.
    public var clipvalue: Double?
    /// Scales all gradients so that their joint L2 norm is at most this (Keras's
    /// `global_clipnorm`); as ``clipnorm``.
    public var globalClipnorm: Double?
    /// The total number of epochs, counting those before a resume.
    public var epochs = 1
    /// Rows per batch.
    public var batchSize = 32
    /// `nil` shuffles the whole training set (Keras `fit`) with ``TrainingData/Order/shuffled``
    /// (a permutation, or the chunk-aware block shuffle for compressed features); 0 keeps the
    /// order; any other size is tf.data's buffered shuffle with that buffer.
    public var shuffleBuffer: Int?
    /// Seeds the shuffle (and the model's initializers when it is built here).
    public var seed: UInt64 = 0
    /// The fraction of rows, from the end, held out for validation.
    public var validationSplit = 0.0
    /// Where the final checkpoint or model is written; the extension chooses the format.
    public var output: URL
    /// A native checkpoint rewritten atomically every `checkpointInterval` steps.
    public var checkpoint: URL?
    /// Steps between checkpoints written to `checkpoint` (every epoch when nil).
    public var checkpointInterval: Int?
    /// A Batchwise-written copy of the starting point (``PreparedStart``), read instead of
    /// `model` / `resume`: `batchwise train` has a child process read the user's files and
    /// write this copy, so that libhdf5 in the training process never parses them.
    package var preparedStart: URL?
    /// Whether each save to `checkpoint` is fsynced (the default) or only atomic for readers and
    /// killed processes (`.processCrashSafe`, for frequent saves); the final `output` is always synced.
    public var checkpointDurability: HDF5Durability = .synced
    /// Keras's `EarlyStopping` (TrainJob+Callbacks.swift); its state is in every checkpoint, so
    /// a resume stops where the uninterrupted run stops (with the same settings only).
    public var earlyStopping: EarlyStoppingSettings?
    /// Keras's `ReduceLROnPlateau`; as ``earlyStopping``.
    public var reduceLROnPlateau: PlateauSettings?
    /// A CSV file with a row per epoch (Keras's `CSVLogger`), replaced by a new run and continued
    /// by a resume (Keras's `append=True`).
    public var csvLog: URL?

    /// A job with every option at its default; set the rest as properties before ``run(progress:)``.
    public init(data: URL, output: URL) {
        self.data = data
        self.output = output
    }

    /// Runs the job and returns the full history (including epochs before a resume).
    @discardableResult
    public func run(progress: ProgressStyle = .automatic) throws -> History {
        try runReturningModel(progress: progress).history
    }

    /// Runs the job and returns the full history and the trained model (what was saved).
    public func runReturningModel(progress: ProgressStyle = .automatic) throws -> (history: History, model: Sequential) {
        let outcome = try runReturningOutcome(progress: progress)
        return (outcome.history, outcome.model)
    }

    /// What ``runReturningOutcome(progress:)`` returns: the full history, the trained model (what
    /// was saved) and the lines Keras's `EarlyStopping(verbose=1)` prints at the end (``earlyStoppingLines(last:)``).
    public struct Outcome: Sendable {
        /// The full history, including epochs before a resume.
        public var history: History
        /// The trained model (what was saved).
        public var model: Sequential
        /// The lines to print after training (none without early stopping).
        public var earlyStoppingLines: [String]
    }

    /// Runs the job: ``runReturningModel(progress:)`` with what early stopping did.
    public func runReturningOutcome(progress: ProgressStyle = .automatic) throws -> Outcome {
        try checkOutput()
        try checkCallbackSettings()
        var start = try startingPoint()
        try requirePipelinePosition(start.snapshot)
        let lossValue = try resolvedLoss(start)
        let optimizerConfig = try resolvedOptimizer(&start)
        var trainingData = try TrainingData(files: [data] + moreData, x: x, y: y,
                                            sparseTargets: lossValue.kind == .sparseCategoricalCrossentropy)
        try trainingData.validate(for: start.model, loss: lossValue)
        let order: TrainingData.Order = switch shuffleBuffer {
        case nil: .shuffled
        case 0?: .sequential
        case let size?: .buffered(size)
        }
        let (train, validation) = try trainingData.pipelines(batchSize: batchSize, order: order, seed: seed,
                                                             validationSplit: validationSplit)

        let last = LastSnapshot()
        // The guard comes first so that no checkpoint is written with non-finite weights.
        var callbacks: [any TrainingCallback] = [TerminateOnNonFiniteLoss(action: .throwError),
                                                 CheckpointCallback(frequency: .everyEpoch) { last.set($0) }]
        if let checkpoint {
            // The structure is fixed for the run: describe it once, not at every save.
            let architecture = try? KerasModelConfig.json(for: start.model)
            let frequency: CheckpointCallback.Frequency = checkpointInterval.map { .everySteps($0) } ?? .everyEpoch
            callbacks.append(CheckpointCallback(frequency: frequency) { snapshot in
                try NativeCheckpoint.save(snapshot, optimizer: optimizerConfig, to: checkpoint, loss: lossValue,
                                          architecture: architecture, durability: checkpointDurability)
            })
        }
        callbacks += try trainingCallbacks(model: start.model, loss: lossValue, optimizer: optimizerConfig, resuming: start.snapshot)
        var trainer = Trainer(model: start.model, optimizer: optimizerConfig.makeOptimizer(state: start.optimizerState),
                              loss: lossValue)
        let history = try trainer.fit(train, epochs: epochs, validationData: validation, callbacks: callbacks,
                                      progress: progress, resumingFrom: start.snapshot)
        var final = last.value ?? start.snapshot
        let lines = earlyStoppingLines(last: final)
        // The trained model is what fit ends with: with use_ema, the averages it wrote over the
        // weights (as Keras's model.save after fit holds them), with restored best weights those;
        // --checkpoint files keep the training weights.
        if endsWithOtherWeights(optimizerConfig) { final?.model = trainer.model }
        try saveResult(model: trainer.model, optimizer: trainer.optimizer, final: final,
                       config: optimizerConfig, loss: lossValue)
        return Outcome(history: history, model: trainer.model, earlyStoppingLines: lines)
    }

    /// Whether `fit` ends with other weights than its last snapshot's (use_ema's averages,
    /// early stopping's restored best), which a native `.h5` output then holds.
    func endsWithOtherWeights(_ optimizer: OptimizerConfig) -> Bool {
        optimizer.prototype.options.useEMA || earlyStopping?.restoreBestWeights == true
    }

    /// Whether the job builds its model here (``layers`` or a `.json` architecture) rather
    /// than reading weights from a model file or checkpoint.
    public var buildsModel: Bool {
        layers != nil || (resume == nil && model?.pathExtension.lowercased() == "json")
    }

    /// Loads `model` / `resume` exactly as ``run(progress:)`` does, as a value that can be
    /// written to a clean file (``PreparedStart/write(to:)``) for ``preparedStart``.
    package func loadStartingPoint() throws -> PreparedStart {
        PreparedStart(start: try startingPoint())
    }

    /// The model, optimizer state and (for resumes) snapshot to start from.
    struct Start {
        var model: Sequential
        var optimizerState = OptimizerState()
        var fileOptimizer: OptimizerConfig?
        var loss: Loss?
        var snapshot: TrainingSnapshot?
        /// The compile config's optimizer (class name, JSON path) when Batchwise cannot run it.
        var unsupportedOptimizer: CompileConfigEntry?
        /// The compile config's loss (name, JSON path) when Batchwise cannot run it.
        var unsupportedLoss: CompileConfigEntry?
    }

    /// An optimizer or loss a model file's compile config names, and where.
    struct CompileConfigEntry: Equatable {
        var name: String
        var path: String
    }

    func startingPoint() throws -> Start {
        // Before the prepared copy: that copy is made without the architecture settings.
        if layers == nil, inputShape != nil {
            throw WorkflowError.invalidSetting(file: nil, setting: .inputs,
                                               problem: "the input shape applies only to a model built from layers")
        }
        if let preparedStart { return try PreparedStart.read(from: preparedStart).start }
        if let built = try builtModel() { return Start(model: built) }
        if let resume {
            let given = try model.map { try Self.loadModel($0).model }
            let loaded = try NativeCheckpoint.load(from: resume, into: given)
            return Start(model: loaded.snapshot.model, optimizerState: loaded.snapshot.optimizerState,
                         fileOptimizer: loaded.optimizer, loss: loaded.loss, snapshot: loaded.snapshot)
        }
        guard let model else {
            throw WorkflowError.invalidSetting(file: nil, setting: .model,
                                               problem: "nothing to start from: set model to fine-tune or resume to continue a checkpoint")
        }
        return try Self.loadModel(model)
    }

    /// The model ``layers`` or a `.json` ``model`` describe, with weights drawn from ``seed``;
    /// nil when the job starts from a model file or checkpoint.
    private func builtModel() throws -> Sequential? {
        guard let layers else {
            guard resume == nil, let model, model.pathExtension.lowercased() == "json" else { return nil }
            let json: String
            do {
                json = try String(contentsOf: model, encoding: .utf8)
            } catch {
                throw WorkflowError.invalidSetting(file: model.path, setting: .model,
                                                   problem: "cannot read the architecture JSON: \(error.localizedDescription)")
            }
            return try KerasModelConfig.model(fromJSON: json, file: model.path, seed: seed)
        }
        if model != nil || resume != nil {
            throw WorkflowError.invalidSetting(file: (model ?? resume)?.path, setting: .layers,
                                               problem: "layers builds a new model; give either layers or a model/checkpoint, not both")
        }
        guard let inputShape, !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw WorkflowError.invalidSetting(
                file: nil, setting: .inputs,
                problem: "a model built from layers needs the shape of one input example (positive sizes: 64, or 8x8x1 for images), got "
                    + (inputShape.map { "\($0)" } ?? "none"))
        }
        do {
            return try Sequential(inputShape: inputShape, layers.map { $0.makeLayer() }, seed: seed)
        } catch let error as TrainingError {
            throw WorkflowError.invalidSetting(file: nil, setting: .layers, problem: error.localizedDescription)
        }
    }

    /// A native checkpoint (by its `format` attribute) or any Keras model file.
    private static func loadModel(_ url: URL) throws -> Start {
        if try NativeCheckpoint.isCheckpoint(at: url) {
            let loaded = try NativeCheckpoint.load(from: url)
            // Fine-tuning starts a new run: weights and optimizer state carry over, position does not.
            return Start(model: loaded.snapshot.model, optimizerState: loaded.snapshot.optimizerState,
                         fileOptimizer: loaded.optimizer, loss: loaded.loss)
        }
        let loaded = try KerasModelFile.load(url)
        var start = Start(model: loaded.model, optimizerState: loaded.optimizerState ?? OptimizerState(),
                          fileOptimizer: try loaded.optimizer.map(OptimizerConfig.init), loss: loaded.loss)
        switch loaded.unsupportedOptimizer {
        case let .unsupportedOptimizer(_, path, className, option, value)?:
            let name = option.map { "\(className) option \($0) = \(value ?? "?")" } ?? className
            start.unsupportedOptimizer = CompileConfigEntry(name: name, path: path)
        case let .unsupported(_, what)?:
            start.unsupportedOptimizer = CompileConfigEntry(name: what, path: "$.training_config.optimizer_config")
        case let other?:
            throw other
        case nil:
            break
        }
        if loaded.loss == nil, let name = loaded.lossName {
            let path = loaded.format == .legacyModel ? "$.training_config.loss" : "$.compile_config.loss"
            start.unsupportedLoss = CompileConfigEntry(name: name, path: path)
        }
        return start
    }

    func resolvedLoss(_ start: Start) throws -> Loss {
        if let loss { return Loss(loss) }
        guard let fileLoss = start.loss else {
            if let unsupported = start.unsupportedLoss {
                throw WorkflowError.unsupportedCompileConfig(file: model?.path ?? "", path: unsupported.path, name: unsupported.name,
                                                                 setting: .loss)
            }
            throw WorkflowError.invalidSetting(file: (resume ?? model)?.path, setting: .loss,
                                               problem: buildsModel ? "a model built here has no loss yet; set loss"
                                                   : "the model file names no loss; set loss")
        }
        return fileLoss
    }

    /// Writes the trained `model` to ``output`` in the format its extension names; a native
    /// checkpoint holds `final`, the last end-of-epoch snapshot.
    func saveResult(model: Sequential, optimizer trained: any Optimizer, final: TrainingSnapshot?,
                    config optimizer: OptimizerConfig, loss: Loss) throws {
        switch try outputFormat() {
        case .keras:
            try KerasModelFile.save(model, optimizer: trained, loss: loss, to: output)
        case .native:
            guard let final else {
                throw WorkflowError.invalidSetting(file: output.path, setting: .epochs,
                                                   problem: "no epoch ran, so there is nothing to save")
            }
            try NativeCheckpoint.save(final, optimizer: optimizer, to: output, loss: loss)
        }
    }

    /// The formats ``output``'s name can select.
    enum OutputFormat { case keras, native }

    /// The format ``output``'s name selects: `.keras` / `.weights.h5`, or `.h5` for a native checkpoint.
    func outputFormat() throws -> OutputFormat {
        let name = output.lastPathComponent.lowercased()
        if name.hasSuffix(".keras") || name.hasSuffix(".weights.h5") { return .keras }
        if name.hasSuffix(".h5") { return .native }
        throw WorkflowError.invalidSetting(
            file: output.path, setting: .output,
            problem: "cannot tell the format from the name; use .h5 (native checkpoint), .keras or .weights.h5")
    }

    /// Refuses an ``output`` whose name no format reads or whose folder does not exist before
    /// the first epoch: found only at the save, either would throw the whole run away.
    func checkOutput() throws {
        _ = try outputFormat()
        let folder = output.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw WorkflowError.unwritableOutput(file: output.path, message: "the folder \(folder.path) does not exist")
        }
    }
}

/// The newest end-of-epoch snapshot, written from a callback.
private final class LastSnapshot: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: TrainingSnapshot?
    func set(_ snapshot: TrainingSnapshot) { lock.withLock { stored = snapshot } }
    var value: TrainingSnapshot? { lock.withLock { stored } }
}
