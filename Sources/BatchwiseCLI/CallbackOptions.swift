import ArgumentParser
import Foundation
import Workflows

/// `batchwise train`'s Keras callbacks: early stopping, the learning-rate reduction on a
/// plateau and the CSV log. The values are checked by the job (``TrainJob/checkCallbackSettings()``)
/// before any training, alike in one process and under mpirun; here only options that mean
/// nothing without their switch are refused.
///
/// ```swift
/// let callbacks = try CallbackOptions.parse(["--early-stopping-patience", "3", "--restore-best-weights", "--csv-log", "log.csv"])
/// ```
struct CallbackOptions: TrainJobOptions {
    @Option(help: ArgumentHelp("Stop when the monitored log has not improved for N epochs (Keras's EarlyStopping; with --resume: only the checkpoint's).", valueName: "n"))
    var earlyStoppingPatience: Int?
    @Option(help: ArgumentHelp("The log early stopping watches (default: val_loss with --validation-split, else loss); names with \"loss\" are minimized, others maximized.", valueName: "name"))
    var earlyStoppingMonitor: String?
    @Option(help: ArgumentHelp("The least change of the monitored log that counts as an improvement (Keras's min_delta, default 0).", valueName: "delta"))
    var earlyStoppingMinDelta: Double?
    @Flag(help: "End with the weights of the best epoch (Keras's restore_best_weights): the --save output and the printed sha256 are of those.")
    var restoreBestWeights = false
    @Option(name: .customLong("reduce-lr-on-plateau-patience"), help: ArgumentHelp("Multiply the learning rate by --reduce-lr-factor when the monitored log has not improved for N epochs (Keras's ReduceLROnPlateau, min_delta 1e-4; with --resume: only the checkpoint's).", valueName: "n"))
    var reduceLROnPlateauPatience: Int?
    @Option(name: .customLong("reduce-lr-factor"), help: ArgumentHelp("The factor of --reduce-lr-on-plateau-patience, in (0, 1) (default 0.1).", valueName: "factor"))
    var reduceLRFactor: Double?
    @Option(name: .customLong("reduce-lr-monitor"), help: ArgumentHelp("The log the reduction watches (default: val_loss with --validation-split, else loss).", valueName: "name"))
    var reduceLRMonitor: String?
    @Option(help: ArgumentHelp("Write each epoch's logs to this CSV file (Keras's CSVLogger, rank 0 only); a new run replaces it, --resume appends to it.", valueName: "file"))
    var csvLog: String?

    func validate() throws {
        if earlyStoppingPatience == nil {
            let given = [("--early-stopping-monitor", earlyStoppingMonitor != nil), ("--early-stopping-min-delta", earlyStoppingMinDelta != nil),
                         ("--restore-best-weights", restoreBestWeights)].filter(\.1).map(\.0)
            if let flag = given.first { throw ValidationError("\(flag) applies with --early-stopping-patience N") }
        }
        if reduceLROnPlateauPatience == nil {
            let given = [("--reduce-lr-factor", reduceLRFactor != nil), ("--reduce-lr-monitor", reduceLRMonitor != nil)]
                .filter(\.1).map(\.0)
            if let flag = given.first { throw ValidationError("\(flag) applies with --reduce-lr-on-plateau-patience N") }
        }
    }

    func apply(to job: inout TrainJob) {
        job.earlyStopping = earlyStoppingPatience.map {
            TrainJob.EarlyStoppingSettings(patience: $0, monitor: earlyStoppingMonitor, minDelta: earlyStoppingMinDelta ?? 0,
                                           restoreBestWeights: restoreBestWeights)
        }
        job.reduceLROnPlateau = reduceLROnPlateauPatience.map {
            TrainJob.PlateauSettings(patience: $0, factor: reduceLRFactor ?? 0.1, monitor: reduceLRMonitor)
        }
        job.csvLog = csvLog.map { URL(fileURLWithPath: $0) }
    }
}
