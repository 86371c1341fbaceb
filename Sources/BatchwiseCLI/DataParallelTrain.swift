import Batchwise
import CProcessControl
import Distributed
import Experiments
import Foundation
import Workflows
#if canImport(Glibc)
import Glibc
#endif

/// `batchwise train` as one rank of an MPI job (`mpirun -np N batchwise train ...`, or
/// ``RankLauncher`` for `--ranks N`): the job is resolved as a single process resolves it
/// (``/Workflows/TrainJob/prepared()``), then `DataParallelTrainer` trains it with
/// `--batch-size` as the global batch, each rank reading only its rows of each step. With
/// `--validation-split`, the rows a single-process run holds out are scored after every epoch,
/// each rank scoring its share. Rank 0 alone prints progress and the weights' SHA-256 and
/// writes `--checkpoint` and `--save`; all ranks hold the same weights after every step.
///
/// An error is one line naming the rank or ranks that had it, written once, and exit status 1
/// (``RankFailureReport``): an error of every rank alike once, by rank 0 (`batchwise train:
/// ranks 0, 1 failed: ...`); a rank's own error once, by that rank or by rank 0 (`batchwise
/// train: rank 1 failed in epoch 0, step 0: ...`). `mpirun` then ends the other ranks.
///
/// ```swift
/// try DataParallelTrain.run(.success(job), options: try DataParallelOptions.parse(["--reduction", "fast"]), quiet: false)
/// ```
enum DataParallelTrain {
    /// Trains the job `start` holds on this rank (or, when reading its starting point
    /// failed, reports that with the other ranks); rank 0 saves. Call on the main thread: MPI
    /// stays on it.
    static func run(_ start: Result<TrainJob, any Error>, options: DataParallelOptions, quiet: Bool) throws {
        let world = try Communicator.world()
        // Nothing up to the trainer is collective, and it fails alike on every rank (a missing
        // data file) or on some (a node without the file): compared once, reported once.
        let (job, prepared, trainer) = try RankFailureReport.agreeing(on: world) {
            let job = try start.get()
            let prepared = try job.prepared()
            let trainer = try DataParallelTrainer(
                model: prepared.model, optimizer: prepared.optimizer.makeOptimizer(state: prepared.optimizerState),
                loss: prepared.loss, communicator: world, globalBatchSize: job.batchSize,
                microShardCount: options.microShards ?? 8, mode: options.reduction ?? .ordered,
                batchNormStatistics: options.batchNormStatistics ?? .synchronized)
            return (job, prepared, trainer)
        }
        try train(trainer, job: job, prepared: prepared, world: world, quiet: quiet)
    }

    /// The training and rank 0's saving, with the errors every rank raises at the same step
    /// reported once.
    private static func train(_ trainer: DataParallelTrainer, job: TrainJob, prepared: TrainJob.Prepared,
                              world: Communicator, quiet: Bool) throws {
        var trainer = trainer
        var report = RankZeroReport(job: job, prepared: prepared, rank: world.rank, ranks: world.size, quiet: quiet)
        do {
            if let seed = prepared.shuffleSeed {
                try fit(&trainer, rows: prepared.rows.globalShuffle(seed: seed), job: job, report: &report)
            } else {
                try fit(&trainer, rows: prepared.rows, job: job, report: &report)
            }
        } catch let failure as FailedOnEveryRank {
            try RankFailureReport.endAlike(world, writing: world.rank != 0 ? nil
                : RankFailureReport.named(Array(0..<world.size)) + " failed: " + RankFailureReport.line(failure.error))
        } catch let DistributedError.rankDisagreement(operation, _, quantity, local, _, _) {
            // Every rank throws it at the same point of the same step: reported once, naming each rank's value.
            try RankFailureReport.endDisagreement(world, operation: operation, quantity: quantity, local: local)
        } catch let error as DataParallelError {
            switch error {
            case .otherRankFailed(_, _, _, .otherRankInputRejected):
                // Another rank failed and names itself (rankFailed); this one only learnt of it.
                try RankFailureReport.endAlike(world, writing: nil)
            case .rankFailed, .otherRankFailed:
                try RankFailureReport.endAlike(world, writing: RankFailureReport.line(error))
            case let .positionSettingsDiffer(differences, unknown) where job.resume != nil:
                // Every rank read the same checkpoint and refuses it alike: rank 0 says so once,
                // naming the file, each difference and the options that give the recorded values.
                try RankFailureReport.endAlike(world, writing: world.rank != 0 ? nil
                    : Self.positionRefusal(differences, unknown: unknown, file: job.resume!))
            case let .invalidArgument("resumingFrom", reason) where job.resume != nil:
                // Every rank read the same checkpoint and refuses it alike (its optimizer or
                // model): rank 0 says so once, naming the file.
                try RankFailureReport.endAlike(world, writing: world.rank != 0 ? nil : Self.resumeRefusal(reason, file: job.resume!))
            default:
                throw error
            }
        } catch where report.stepsRun == 0 {
            // Before the first step has ended, an error that is neither a rank's failure nor a
            // disagreement (both above) comes from the validation data's check, which ends with
            // one all-gather that every rank leaves throwing (its own error, or that another
            // rank's check failed; DataParallelTrainer+Validation.swift), or from applying the
            // first step's reduced gradients, alike on every rank: every rank is here. The ranks
            // that failed name themselves, once per distinct error.
            let learntOnly: Bool
            if case DistributedError.otherRankInputRejected(DataParallelTrainer.validationCheck, _) = error { learntOnly = true } else {
                learntOnly = false
            }
            guard learntOnly || !(error is DistributedError) else { throw error }
            try RankFailureReport.agreeing(on: world) { if !learntOnly { throw error } }
            throw error
        }
        if world.rank == 0 {
            if !quiet {
                for line in job.earlyStoppingLines(last: report.lastEpochEnd ?? prepared.snapshot) { print(line) }
            }
            try job.save(trainer.model, optimizer: trainer.optimizer, final: report.lastEpochEnd ?? prepared.snapshot,
                         prepared: prepared)
            print("weights sha256: \(SeedExperiment.digest(of: trainer.model))")
        }
        try world.finalize()
    }

    private static func fit<Rows: RandomAccessDataset>(
        _ trainer: inout DataParallelTrainer, rows: Rows, job: TrainJob, report: inout RankZeroReport
    ) throws where Rows.Element == (Tensor<Float>, Tensor<Float>) {
        let steps = trainer.stepsPerEpoch(rowCount: rows.count)
        try trainer.fit(rows, epochs: job.epochs, validationData: report.prepared.validationRows,
                        callbacks: report.prepared.callbacks, resumingFrom: report.prepared.snapshot) { result, snapshot in
            // The loss is the same on every rank, so every rank stops alike.
            guard result.loss.isFinite else {
                throw FailedOnEveryRank(
                    error: TrainingError.nonFiniteLoss(epoch: result.epoch, step: result.step, loss: result.loss, cause: .model))
            }
            try report.stepEnded(result, snapshot: snapshot, steps: steps)
        }
    }

    /// The line for a checkpoint every rank refused for its optimizer or model (`DataParallelTrainer.fit`'s
    /// `resumingFrom` reason), naming the file.
    static func resumeRefusal(_ reason: String, file: URL) -> String {
        "\(file.path): the checkpoint \(reason)"
    }

    /// The refusal of a checkpoint recorded with other data-parallel settings: each difference,
    /// then the options that give the recorded values (or, for settings this version does not
    /// know, that a newer version wrote it).
    static func positionRefusal(_ differences: [PositionSettingDifference], unknown: [String], file: URL) -> String {
        var line = "\(file.path): the checkpoint was written with other data-parallel settings"
        if !differences.isEmpty {
            line += ": " + differences.map { "\($0.setting.description) \($0.recorded) (this run: \($0.current))" }
                .joined(separator: ", ")
            // A setting the checkpoint does not record ("none") has no option value to give.
            let options = differences.filter { $0.recorded != "none" }.map(Self.option)
            if !options.isEmpty { line += "; resume with " + options.joined(separator: ", ") }
        }
        if !unknown.isEmpty {
            line += "; it records settings this version does not know (\(unknown.joined(separator: ", "))): "
                + "resume it with the version that wrote it"
        }
        return line + ", or start a new run from its weights with --model"
    }

    /// The option (with the recorded value) that sets `difference`'s setting in `batchwise train`.
    private static func option(_ difference: PositionSettingDifference) -> String {
        switch difference.setting {
        case .globalBatchSize: "--batch-size \(difference.recorded)"
        case .rows: "the --data and --validation-split that give \(difference.recorded) training rows"
        case .reduction: "--reduction \(difference.recorded)"
        case .microShards: "--micro-shards \(difference.recorded)"
        case .batchNormStatistics:
            "--batch-norm-statistics \(BatchNormStatisticsScope(rawValue: difference.recorded)?.argumentName ?? difference.recorded)"
        }
    }

    /// An error that every rank raises at the same point (from the same global values).
    private struct FailedOnEveryRank: Error {
        let error: any Error
    }

    /// The line a failed rank prints: the trainer's errors name the rank already.
    static func message(_ error: any Error, rank: Int?) -> String {
        let text = CommandFailure.message(error)
        guard let rank, !(error is DataParallelError) else { return text }
        return "rank \(rank) failed: \(text)"
    }
}

/// What rank 0 does after each step: progress lines, `--checkpoint` saves; every rank keeps
/// the last end-of-epoch snapshot (what a `.h5` `--save` holds).
struct RankZeroReport {
    let job: TrainJob
    let prepared: TrainJob.Prepared
    let rank: Int
    let ranks: Int
    let quiet: Bool
    private(set) var lastEpochEnd: TrainingSnapshot?
    /// The steps this process has run (0 until the first one ended).
    private(set) var stepsRun = 0
    private var epochStart = DispatchTime.now().uptimeNanoseconds

    init(job: TrainJob, prepared: TrainJob.Prepared, rank: Int, ranks: Int, quiet: Bool) {
        (self.job, self.prepared, self.rank, self.ranks, self.quiet) = (job, prepared, rank, ranks, quiet)
    }

    mutating func stepEnded(_ result: DataParallelStepResult, snapshot: TrainingSnapshot, steps: Int) throws {
        stepsRun += 1
        let epochEnded = snapshot.stepInEpoch == 0 && snapshot.epoch == result.epoch + 1
        if epochEnded { lastEpochEnd = snapshot }
        guard rank == 0 else { return }
        if job.checkpointInterval.map({ snapshot.globalStep % $0 == 0 }) ?? epochEnded {
            try job.saveCheckpoint(snapshot, prepared: prepared)
        }
        guard epochEnded else { return }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - epochStart) / 1e9
        epochStart = DispatchTime.now().uptimeNanoseconds
        guard !quiet else { return }
        let loss = snapshot.history["loss"]?.last.map { String(format: "%.4f", $0) } ?? "-"
        // The training metrics (Keras's "accuracy" by default) after the loss, then the
        // validation loss and metrics, in the single-process train's (Keras's) order.
        let metrics = Trainer.logOrder(snapshot.history.names).filter { $0 != "loss" }.compactMap { name in
            snapshot.history[name]?.last.map { " - \(name): " + String(format: "%.4f", $0) }
        }
        print("Epoch \(result.epoch + 1)/\(job.epochs): \(steps) steps on \(ranks) rank\(ranks == 1 ? "" : "s"), "
              + String(format: "%.1fs", seconds) + " - loss: \(loss)" + metrics.joined())
        fflush(nil)
    }
}
