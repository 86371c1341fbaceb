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

/// The loss and the optimizer.
struct ObjectiveOptions: TrainJobOptions {
    @Option(help: "Loss (default: the one the model file or checkpoint records; this option overrides it).")
    var loss: Loss.Kind?
    @Option(help: "A fresh optimizer, overriding the model file's (default: the model file's, with its hyper-parameters and state; with --resume only the checkpoint's).")
    var optimizer: TrainJob.OptimizerKind?
    @Option(help: "Learning rate (with --resume: continue with this one).")
    var learningRate: Float?
    @Option(help: "SGD momentum, with --optimizer sgd (with --resume: only the checkpoint's is accepted).")
    var momentum: Double?

    func apply(to job: inout TrainJob) {
        job.loss = loss
        job.optimizer = optimizer
        job.learningRate = learningRate
        job.momentum = momentum
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
        case .epochs: "--epochs"
        case .batchSize: "--batch-size"
        case .validationSplit: "--validation-split"
        case .shuffleBuffer: "--shuffle-buffer"
        case .resume: "--resume"
        case .output: "--save"
        }
    }
}
