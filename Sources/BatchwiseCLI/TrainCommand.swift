import ArgumentParser
import Batchwise
import Foundation

/// `batchwise train`: fine-tunes a model file or resumes a native checkpoint on HDF5 data and
/// saves in the format the `--save` extension names. All logic is in ``TrainJob``.
///
/// ```
/// batchwise train --model m.keras --data d.h5 --loss binary_crossentropy --optimizer adam \
///     --epochs 5 --save out.h5 --checkpoint run.h5 --every 100
/// batchwise train --resume run.h5 --data d.h5 --loss binary_crossentropy --epochs 5 --save out.h5
/// ```
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a model or resume a native checkpoint on HDF5 data.",
        discussion: """
        The data is checked before training: an empty dataset, features that are not [rows, model inputs], \
        targets not shaped for the loss, a sparse label outside 0..<classes, or any NaN/infinity in features \
        or targets is an error naming the file, dataset, row and column. A loss that becomes NaN or infinite \
        stops training with an error (nothing is saved; the last --checkpoint stays intact).
        """
    )

    @Option(help: "Model to fine-tune (.keras, legacy .h5, or a native checkpoint).")
    var model: String?
    @Option(help: "HDF5 file with the data.")
    var data: String
    @Option(help: "Features dataset path (float32/float64, [rows, features]).")
    var x = "/x"
    @Option(help: "Targets dataset path (any numeric type).")
    var y = "/y"
    @Option(help: "Keras loss name (binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, mean_squared_error).")
    var loss: String?
    @Option(help: "sgd or adam (default: the model file's optimizer; with --resume only the checkpoint's).")
    var optimizer: String?
    @Option(help: "Learning rate (with --resume: continue with this one).")
    var learningRate: Float?
    @Option(help: "SGD momentum (with --resume: only the checkpoint's is accepted).")
    var momentum: Double?
    @Option(help: "Total number of epochs (with --resume: continue up to this total).")
    var epochs = 1
    @Option(help: "Batch size.")
    var batchSize = 32
    @Option(help: "Shuffle buffer size (default: the whole training set).")
    var shuffleBuffer: Int?
    @Flag(help: "Keep the data order.")
    var noShuffle = false
    @Option(help: "Seed of the shuffle.")
    var seed: UInt64 = 0
    @Option(help: "Fraction of rows (the last ones) held out for validation.")
    var validationSplit = 0.0
    @Option(help: "Output: .h5 (native checkpoint), .keras or .weights.h5.")
    var save: String
    @Option(help: "Native checkpoint rewritten during training.")
    var checkpoint: String?
    @Option(help: "Checkpoint every N steps (default: every epoch).")
    var every: Int?
    @Flag(help: "Skip the fsyncs of --checkpoint saves: still atomic if the process dies, not on power loss.")
    var noCheckpointFsync = false
    @Option(help: "Native checkpoint to resume exactly.")
    var resume: String?
    @Flag(help: "No progress output.")
    var quiet = false
    @OptionGroup var isolation: IsolationOptions

    func run() throws {
        var job = TrainJob(data: URL(fileURLWithPath: data), output: URL(fileURLWithPath: save))
        job.model = model.map { URL(fileURLWithPath: $0) }
        job.resume = resume.map { URL(fileURLWithPath: $0) }
        job.x = x
        job.y = y
        job.loss = loss
        job.optimizer = optimizer
        job.learningRate = learningRate
        job.momentum = momentum
        job.epochs = epochs
        job.batchSize = batchSize
        job.shuffleBuffer = noShuffle ? 0 : shuffleBuffer
        job.seed = seed
        job.validationSplit = validationSplit
        job.checkpoint = checkpoint.map { URL(fileURLWithPath: $0) }
        job.checkpointInterval = every
        job.checkpointDurability = noCheckpointFsync ? .processCrashSafe : .synced
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-start-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            if model != nil || resume != nil, !isolation.noIsolation {
                // The child reads the user's model/checkpoint and writes what training starts
                // from (model, optimizer state, position) as a Batchwise-written checkpoint;
                // this process reads only that copy.
                let files = [model, resume].compactMap { $0 }
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let copy = folder.appendingPathComponent("start.h5")
                let result = try IsolatedProbe.run(
                    ["train"] + (model.map { ["--file", $0] } ?? []) + (resume.map { ["--resume", $0] } ?? []) + ["--copy-to", copy.path],
                    file: files.joined(separator: " and "), options: isolation)
                switch result.status {
                case 0: job.preparedStart = copy
                case 1: throw TrainFailure(errorDescription: result.message.isEmpty ? "cannot load \(files.joined(separator: " and "))" : result.message)
                default: break   // loaded, but no copy: read the originals here
                }
            }
            try job.run(progress: quiet ? .quiet : .automatic)
        } catch {
            FileHandle.standardError.write(Data(("batchwise train: " + error.localizedDescription
                .replacingOccurrences(of: "\n", with: " ") + "\n").utf8))
            throw ExitCode(1)
        }
    }
}

private struct TrainFailure: LocalizedError {
    let errorDescription: String?
}
