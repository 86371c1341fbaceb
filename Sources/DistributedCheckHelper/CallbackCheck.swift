import Checkpoints
import Datasets
import Distributed
import Foundation
import Tensors
import Training

/// The `callbacks` check: `DataParallelTrainer.fit(callbacks:)` on the `validate` check's MLP
/// (4 -> 8 relu -> BatchNormalization -> 3 softmax, sparse crossentropy, SGD(0.1)), `--rows`
/// training rows in a global shuffle, `--val-rows` validation rows, `--batch`, `--micro-shards`,
/// `--mode`, `--epochs`. Callbacks, in this order, each when its option is given:
///
///   --early-stopping P --min-delta D   EarlyStopping(--monitor, default val_loss; patience P, minDelta D, restoreBest)
///   --plateau P                        ReduceLROnPlateau(val_loss, factor 0.5, patience P, minDelta --min-delta)
///   --stop-at-step N [--stop-rank r]   TimeBudgetStop(seconds: N) whose clock counts its readings,
///                                      so it stops after global step N; on rank r only (others' clocks stand still)
///   --throw-at-step N --throw-rank r   a callback that throws "disk full on rank r" after global step N on rank r
///   --begin-fail-rank r                a callback whose trainingWillBegin throws on rank r
///   --rogue-rate-rank r                a callback that halves the learning rate after epoch 0 on rank r only
///   --extra-callback-rank r            an EpochHook on rank r only (ranks passing other callbacks)
///   --resume-stop-rank r               a callback that says, on rank r only, that a resumed run had stopped
///                                      where it resumes (`stopReason(resumingAt:)`: ranks that decide otherwise)
///   --checkpoint PATH [--checkpoint-steps N]  CheckpointCallback (every epoch, or every N steps) saving a
///                                      native checkpoint; every rank counts the `save` calls it saw (`saves`)
///   --csv PATH                         CSVLogger; `%r` in PATH is replaced by the rank
///   (always)                           a recorder of every event (`events`), unless `--bare 1`: no callbacks
///                                      at all (but `--extra-callback-rank`'s)
///
/// `--resume PATH` continues from a checkpoint (`--resume-rank r`: on rank r only); `--progress lines` prints rank 0's progress. `--validation-steps N` passes validationSteps.
/// Reports `losses`, `val-losses` (bits), `weights` (a hash), `learning-rate` (bits), `stop`
/// (the stop reason, or `none`), `saves`, `events`, `after-step` (the epoch and step of the last
/// snapshot `afterStep` got), `collectives` (entered during `fit`) and
/// `collective-seconds` (their wall time, waiting included, as decimal text); `--count-parts 1`
/// first counts, on copies of the trainer, the collectives of one `step` (`step-collectives`)
/// and of one `evaluate` of the validation rows (`evaluate-collectives`) with fit's default metrics; with `--report-errors 1` an error is
/// reported as `error <description>` instead of failing. `--compare-trainer 1` (a world of one)
/// also runs `Trainer.fit` with the same callbacks on the same global batches and reports its
/// `trainer-events`, `trainer-stop`, `trainer-losses` and `trainer-val-losses`.
enum CallbackCheck {
    /// Clock readings, counted: the `TimeBudgetStop` of one rank reaches its budget after N steps.
    final class CountingClock: @unchecked Sendable {
        private let lock = NSLock()
        private var readings = 0
        let runs: Bool
        init(runs: Bool) { self.runs = runs }
        func read() -> Double { lock.withLock { defer { readings += 1 }; return runs ? Double(readings) : 0 } }
    }

    /// Every event a callback sees, one word each (stop reasons up to a parenthesis: `EarlyStopping`'s
    /// best value differs in its last digits between one process and the micro-shards).
    final class EventLog: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [String] = []
        func add(_ event: String) { lock.withLock { events.append(event) } }
        var all: [String] { lock.withLock { events } }
    }

    struct Recorder: TrainingCallback {
        let log: EventLog
        mutating func trainingWillBegin() throws { log.add("begin") }
        mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
            let position = try snapshot()
            log.add("step:\(event.epoch):\(event.step):\(event.globalStep):\(position.epoch):\(position.stepInEpoch)")
            return .proceed
        }
        mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
            let position = try snapshot()
            log.add("epoch:\(event.epoch):\(event.isComplete):\(event.logs.keys.sorted().joined(separator: ",")):\(position.epoch)")
            return .proceed
        }
        mutating func trainingDidStop(_ event: StopEvent, snapshot: () throws -> TrainingSnapshot) throws {
            log.add("stop:\(event.epoch):\(event.stepInEpoch):\(event.globalStep):"
                    + event.reason.prefix { $0 != "(" }.replacingOccurrences(of: " ", with: "_"))
        }
        mutating func trainingDidEnd(model: Sequential) -> Sequential? {
            log.add("end")
            return nil
        }
    }

    struct DiskFull: Error, LocalizedError {
        let rank: Int
        var errorDescription: String? { "disk full on rank \(rank)" }
    }

    /// Throws `DiskFull` after global step `step` (or in `trainingWillBegin`) on its rank.
    struct Failing: TrainingCallback {
        let rank: Int, step: Int?, atBegin: Bool
        mutating func trainingWillBegin() throws { if atBegin { throw DiskFull(rank: rank) } }
        mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
            if event.globalStep == step { throw DiskFull(rank: rank) }
            return .proceed
        }
    }

    /// Halves the learning rate after epoch 0 where `halves` (one rank: a decision the logs do not explain).
    struct RogueRate: TrainingCallback {
        let halves: Bool
        mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
            halves && event.epoch == 0 ? .scaleLearningRate(factor: 0.5, minimum: 0) : .proceed
        }
    }

    /// Answers a resume with "stopped before epoch N" where `stops` (one rank: a decision the others do not share).
    struct ResumeStop: TrainingCallback {
        let stops: Bool
        func stopReason(resumingAt position: ResumePosition) -> String? {
            stops ? "stopped before epoch \(position.epoch + 1)" : nil
        }
    }

    final class SaveCounter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func add() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }

    static func callbacks(_ options: Options, rank: Int, log: EventLog, saves: SaveCounter,
                          optimizer: OptimizerConfig) throws -> [any TrainingCallback] {
        let extra: [any TrainingCallback] = options.values["extra-callback-rank"].flatMap(Int.init) == rank ? [EpochHook { _ in }] : []
        guard options.values["bare"] != "1" else { return extra }
        var callbacks: [any TrainingCallback] = [Recorder(log: log)]
        let minDelta = options.values["min-delta"].flatMap(Double.init) ?? 0
        if let patience = options.values["early-stopping"].flatMap(Int.init) {
            callbacks.append(EarlyStopping(monitor: options.values["monitor"] ?? "val_loss", patience: patience,
                                           minDelta: minDelta, restoreBest: true))
        }
        if let patience = options.values["plateau"].flatMap(Int.init) {
            callbacks.append(try ReduceLROnPlateau(monitor: "val_loss", factor: 0.5, patience: patience, minDelta: minDelta))
        }
        if let step = options.values["stop-at-step"].flatMap(Double.init) {
            let clock = CountingClock(runs: options.values["stop-rank"].flatMap(Int.init).map { $0 == rank } ?? true)
            callbacks.append(TimeBudgetStop(seconds: step, clock: { clock.read() }))
        }
        let throwRank = options.values["throw-rank"].flatMap(Int.init)
        if let step = options.values["throw-at-step"].flatMap(Int.init), throwRank == rank {
            callbacks.append(Failing(rank: rank, step: step, atBegin: false))
        } else if options.values["throw-at-step"] != nil {
            callbacks.append(Failing(rank: rank, step: nil, atBegin: false))
        }
        if let failing = options.values["begin-fail-rank"].flatMap(Int.init) {
            callbacks.append(Failing(rank: rank, step: nil, atBegin: failing == rank))
        }
        if let rogue = options.values["rogue-rate-rank"].flatMap(Int.init) {
            callbacks.append(RogueRate(halves: rogue == rank))
        }
        if let stopping = options.values["resume-stop-rank"].flatMap(Int.init) {
            callbacks.append(ResumeStop(stops: stopping == rank))
        }
        callbacks += extra
        if let path = options.values["checkpoint"] {
            let frequency: CheckpointCallback.Frequency = options.values["checkpoint-steps"].flatMap(Int.init).map { .everySteps($0) } ?? .everyEpoch
            callbacks.append(CheckpointCallback(frequency: frequency) { snapshot in
                saves.add()
                try NativeCheckpoint.save(snapshot, optimizer: optimizer, to: URL(fileURLWithPath: path))
            })
        }
        if let path = options.values["csv"] {
            callbacks.append(CSVLogger(url: URL(fileURLWithPath: path.replacingOccurrences(of: "%r", with: String(rank)))))
        }
        return callbacks
    }

    static func run(_ options: Options, world: Communicator, report: Report) throws {
        let rows = options.int("rows"), batch = options.int("batch"), validationRows = options.int("val-rows")
        guard let mode = ReductionMode(rawValue: options.text("mode")) else { fail("unknown --mode") }
        let table = try DataParallelCheck.inputs(rows: rows + validationRows)
        let labels = DataParallelCheck.labels(rows: rows + validationRows)
        let (x, y) = (try table.rows(0..<rows), try labels.rows(0..<rows))
        let (xv, yv) = (try table.rows(rows..<(rows + validationRows)), try labels.rows(rows..<(rows + validationRows)))
        let data = try Slices(x, y).globalShuffle(seed: 11)
        let model = try Sequential(inputFeatures: DataParallelCheck.features,
                                   [Dense(units: 8, activation: .relu), BatchNormalization(momentum: 0.9),
                                    Dense(units: DataParallelCheck.classes, activation: .softmax)], seed: 5)
        var trainer = try DataParallelTrainer(model: model, optimizer: SGD(learningRate: 0.1), loss: .sparseCategoricalCrossentropy,
                                              communicator: world, globalBatchSize: batch,
                                              microShardCount: options.int("micro-shards"), mode: mode)
        let optimizer = try OptimizerConfig(trainer.optimizer)
        // `--resume-rank r`: only rank r loads the checkpoint (a misuse the trainer must refuse, not hang on).
        let loads = options.values["resume-rank"].flatMap(Int.init).map { $0 == world.rank } ?? true
        let resumed = try options.values["resume"].flatMap { path in
            loads ? try NativeCheckpoint.load(from: URL(fileURLWithPath: path), into: model).snapshot : nil
        }
        let (log, saves) = (EventLog(), SaveCounter())
        let epochs = options.int("epochs")
        let validationSteps = options.values["validation-steps"].flatMap(Int.init)
        if options.values["count-parts"] == "1" {
            let metrics = Trainer.defaultMetrics(model: model, loss: .sparseCategoricalCrossentropy)
            var copy = trainer
            var before = world.collectivesEntered
            _ = try copy.step(data, epoch: 0, step: 0, metrics: metrics)
            report.add("step-collectives", [String(world.collectivesEntered - before)])
            before = world.collectivesEntered
            _ = try copy.evaluate(try Slices(xv, yv), metrics: metrics, epoch: 0)
            report.add("evaluate-collectives", [String(world.collectivesEntered - before)])
        }
        let history: History
        let (collectivesBefore, secondsBefore) = (world.collectivesEntered, world.secondsInCollectives)
        var lastPosition = "none"
        do {
            history = try trainer.fit(data, epochs: epochs, validationData: try Slices(xv, yv), validationSteps: validationSteps,
                                      callbacks: callbacks(options, rank: world.rank, log: log, saves: saves, optimizer: optimizer),
                                      progress: options.values["progress"] == "lines" ? .lines : .quiet,
                                      resumingFrom: resumed) { _, snapshot in lastPosition = "\(snapshot.epoch):\(snapshot.stepInEpoch)" }
        } catch where options.values["report-errors"] == "1" {
            report.add("error", [(error as? any LocalizedError)?.errorDescription ?? "\(error)"])
            report.add("saves", [String(saves.value)])
            report.add("events", log.all)
            return
        }
        report.bits("losses", history["loss"] ?? [])
        report.bits("val-losses", history["val_loss"] ?? [])
        report.add("weights", [DataParallelCheck.hash(trainer.model)])
        report.bits("learning-rate", [trainer.optimizer.learningRate])
        report.add("stop", [trainer.stopReason?.replacingOccurrences(of: " ", with: "_") ?? "none"])
        report.add("saves", [String(saves.value)])
        report.add("events", log.all)
        report.add("after-step", [lastPosition])
        report.add("collectives", [String(world.collectivesEntered - collectivesBefore)])
        report.add("collective-seconds", [String(world.secondsInCollectives - secondsBefore)])
        guard options.values["compare-trainer"] == "1" else { return }
        let trainerLog = EventLog()
        var alone = Trainer(model: resumed?.model ?? model, optimizer: SGD(learningRate: 0.1), loss: .sparseCategoricalCrossentropy)
        let fitted = try alone.fit(data.batch(batch), epochs: epochs, validationData: try Slices(xv, yv).batch(batch),
                                   validationSteps: validationSteps,
                                   callbacks: callbacks(options, rank: world.rank, log: trainerLog, saves: SaveCounter(), optimizer: optimizer),
                                   progress: .quiet, resumingFrom: resumed)
        report.add("trainer-events", trainerLog.all)
        report.add("trainer-stop", [alone.stopReason?.replacingOccurrences(of: " ", with: "_") ?? "none"])
        report.bits("trainer-losses", fitted["loss"] ?? [])
        report.bits("trainer-val-losses", fitted["val_loss"] ?? [])
        report.bits("trainer-learning-rate", [alone.optimizer.learningRate])
    }
}
