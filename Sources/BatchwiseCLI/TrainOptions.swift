import ArgumentParser
import Batchwise
import Foundation
import Workflows

// `batchwise train`'s options, one group per concern; each group parses into typed values
// once and writes them into a `TrainJob` (the library knows nothing of flags).

extension Loss.Kind: ExpressibleByArgument {}
extension TrainJob.OptimizerKind: ExpressibleByArgument {}

/// A group of `train` options that sets its part of a `TrainJob`.
///
/// ```swift
/// var job = TrainJob(data: URL(fileURLWithPath: "d.h5"), output: URL(fileURLWithPath: "out.h5"))
/// let groups: [any TrainJobOptions] = [try StartOptions.parse(["--model", "m.keras"]),
///                                      try ScheduleOptions.parse(["--epochs", "3"])]
/// for group in groups { group.apply(to: &job) }
/// ```
protocol TrainJobOptions: ParsableArguments {
    /// Writes these options into `job`.
    func apply(to job: inout TrainJob)
}

/// What training starts from: a model file to fine-tune or a checkpoint to resume.
///
/// Shared by `train` and the isolated probe that loads these files for it (`probe-file train`).
///
/// ```swift
/// @OptionGroup var start: StartOptions   // --model FILE, --resume CHECKPOINT
/// ```
struct StartOptions: TrainJobOptions {
    @Option(help: "Model to fine-tune (.keras, legacy .h5, or a native checkpoint), or a Keras architecture (.json, model.to_json()) to train from scratch.")
    var model: String?
    @Option(help: "Native checkpoint to resume exactly.")
    var resume: String?

    /// The user's files, for the isolated probe.
    var files: [String] { [model, resume].compactMap { $0 } }

    /// These options as arguments again, for the isolated probe.
    var arguments: [String] { (model.map { ["--model", $0] } ?? []) + (resume.map { ["--resume", $0] } ?? []) }

    func apply(to job: inout TrainJob) {
        job.model = model.map { URL(fileURLWithPath: $0) }
        job.resume = resume.map { URL(fileURLWithPath: $0) }
    }
}

/// The HDF5 files and the datasets training reads.
struct TrainDataOptions: TrainJobOptions {
    @Option(parsing: .upToNextOption,
            help: "HDF5 file(s) with the data; several files with the same layout are read as one, in order.")
    var data: [String]
    @Option(help: "Features dataset path (float32/float64, [rows, features]).")
    var x = "/x"
    @Option(help: "Targets dataset path (any numeric type).")
    var y = "/y"

    func apply(to job: inout TrainJob) {
        job.data = URL(fileURLWithPath: data[0])
        job.moreData = data.dropFirst().map { URL(fileURLWithPath: $0) }
        job.x = x
        job.y = y
    }
}

/// The loss and the optimizer: a fresh optimizer of any kind Batchwise implements, or the model
/// file's, with its main hyper-parameters as typed options.
///
/// ```swift
/// let objective = try ObjectiveOptions.parse(["--optimizer", "adamw", "--weight-decay", "0.01", "--global-clipnorm", "1"])
/// ```
struct ObjectiveOptions: TrainJobOptions {
    @Option(help: "Loss (default: the one the model file or checkpoint records; this option overrides it).")
    var loss: Loss.Kind?
    @Option(help: ArgumentHelp(
        "A fresh optimizer with Keras's defaults, overriding the model file's (default: the model file's, with its "
            + "hyper-parameters and state; with --resume only the checkpoint's).",
        valueName: TrainJob.OptimizerKind.allCases.map(\.rawValue).joined(separator: "|")))
    var optimizer: TrainJob.OptimizerKind?
    @Option(help: "Learning rate (default: Keras's, 0.01 for sgd and 0.001 for the others; overrides the model file's; with --resume: continue with this one).")
    var learningRate: Float?
    @Option(help: "Momentum, with --optimizer sgd or rmsprop (with --resume: only the checkpoint's is accepted).")
    var momentum: Double?
    @Flag(help: "Nesterov momentum, with --optimizer sgd (with --resume: only the checkpoint's is accepted).")
    var nesterov = false
    @Option(help: "Decoupled weight decay, Keras's weight_decay, of any optimizer (adamw's default 0.004; overrides the model file's; with --resume: only the checkpoint's).")
    var weightDecay: Double?
    @Option(help: "Clip each gradient to this L2 norm (Keras's clipnorm). One clipping option at most; it replaces the model file's clipping (with --resume: only the checkpoint's).")
    var clipnorm: Double?
    @Option(help: "Clip each gradient element to plus or minus this (Keras's clipvalue); as --clipnorm.")
    var clipvalue: Double?
    @Option(help: "Scale all gradients so that their joint L2 norm is at most this (Keras's global_clipnorm); as --clipnorm.")
    var globalClipnorm: Double?

    func validate() throws {
        if let learningRate, !(learningRate.isFinite && learningRate > 0) {
            throw ValidationError("--learning-rate must be positive, got \(learningRate)")
        }
        if let momentum, !(0...1).contains(momentum) { throw ValidationError("--momentum must be in [0, 1], got \(momentum)") }
        if let optimizer, momentum != nil, ![.sgd, .rmsprop].contains(optimizer) {
            throw ValidationError("--momentum applies to --optimizer sgd or rmsprop, not \(optimizer.rawValue)")
        }
        if let optimizer, nesterov, optimizer != .sgd {
            throw ValidationError("--nesterov applies to --optimizer sgd, not \(optimizer.rawValue)")
        }
        if let weightDecay, !(weightDecay.isFinite && weightDecay >= 0) {
            throw ValidationError("--weight-decay must be 0 or more, got \(weightDecay)")
        }
        let clipping = [("--clipnorm", clipnorm), ("--clipvalue", clipvalue), ("--global-clipnorm", globalClipnorm)]
            .compactMap { flag, value in value.map { (flag, $0) } }
        if clipping.count > 1 {
            throw ValidationError("give one of --clipnorm, --clipvalue, --global-clipnorm, not \(clipping.map(\.0).joined(separator: " and "))")
        }
        if let (flag, value) = clipping.first, !(value.isFinite && value > 0) {
            throw ValidationError("\(flag) must be positive, got \(value)")
        }
    }

    func apply(to job: inout TrainJob) {
        job.loss = loss
        job.optimizer = optimizer
        job.learningRate = learningRate
        job.momentum = momentum
        job.nesterov = nesterov ? true : nil
        job.weightDecay = weightDecay
        job.clipnorm = clipnorm
        job.clipvalue = clipvalue
        job.globalClipnorm = globalClipnorm
    }
}

/// How the rows are batched, shuffled, split and for how long.
struct ScheduleOptions: TrainJobOptions {
    @Option(help: "Total number of epochs (with --resume: continue up to this total).")
    var epochs = 1
    @Option(help: "Batch size.")
    var batchSize = 32
    @Option(help: "tf.data's buffered shuffle with this buffer (default: a shuffle of all training rows, chunk-aware for compressed data).")
    var shuffleBuffer: Int?
    @Flag(help: "Keep the data order.")
    var noShuffle = false
    @Option(help: "Seed of the shuffle and of the initial weights of a model built from --layers or a .json architecture.")
    var seed: UInt64 = 0
    @Option(help: "Fraction of rows (the last ones) held out for validation.")
    var validationSplit = 0.0

    func apply(to job: inout TrainJob) {
        job.epochs = epochs
        job.batchSize = batchSize
        job.shuffleBuffer = noShuffle ? 0 : shuffleBuffer
        job.seed = seed
        job.validationSplit = validationSplit
    }
}

/// Where the result and the checkpoints on the way are written.
struct TrainOutputOptions: TrainJobOptions {
    @Option(help: "Output: .h5 (native checkpoint), .keras or .weights.h5.")
    var save: String
    @Option(help: "Native checkpoint rewritten during training.")
    var checkpoint: String?
    @Option(help: "Checkpoint every N steps (default: every epoch).")
    var every: Int?
    @Flag(help: "Skip the fsyncs of --checkpoint saves: still atomic if the process dies, not on power loss.")
    var noCheckpointFsync = false

    func apply(to job: inout TrainJob) {
        job.output = URL(fileURLWithPath: save)
        job.checkpoint = checkpoint.map { URL(fileURLWithPath: $0) }
        job.checkpointInterval = every
        job.checkpointDurability = noCheckpointFsync ? .processCrashSafe : .synced
    }
}

extension WorkflowError.Setting {
    /// The flag of `batchwise train` / `predict` that sets this.
    var flag: String {
        switch self {
        case .model: "--model"
        case .layers: "--layers"
        case .inputs: "--inputs"
        case .loss: "--loss"
        case .optimizer: "--optimizer"
        case .momentum: "--momentum"
        case .learningRate: "--learning-rate"
        case .nesterov: "--nesterov"
        case .weightDecay: "--weight-decay"
        case .clipnorm: "--clipnorm"
        case .clipvalue: "--clipvalue"
        case .globalClipnorm: "--global-clipnorm"
        case .epochs: "--epochs"
        case .batchSize: "--batch-size"
        case .validationSplit: "--validation-split"
        case .shuffleBuffer: "--shuffle-buffer"
        case .resume: "--resume"
        case .output: "--save"
        case .earlyStoppingPatience: "--early-stopping-patience"
        case .earlyStoppingMonitor: "--early-stopping-monitor"
        case .earlyStoppingMinDelta: "--early-stopping-min-delta"
        case .restoreBestWeights: "--restore-best-weights"
        case .reduceLRPatience: "--reduce-lr-on-plateau-patience"
        case .reduceLRFactor: "--reduce-lr-factor"
        case .reduceLRMonitor: "--reduce-lr-monitor"
        case .csvLog: "--csv-log"
        }
    }
}
