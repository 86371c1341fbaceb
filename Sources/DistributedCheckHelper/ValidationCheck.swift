import Checkpoints
import Datasets
import Distributed
import Foundation
import Tensors
import Training

/// The `validate` check: `DataParallelTrainer.fit(validationData:)` on the `train` check's MLP
/// (4 -> 8 relu -> BatchNormalization -> 3 softmax, sparse crossentropy, SGD(0.1) or
/// `--optimizer adam`), `--rows` training rows in a global shuffle and `--val-rows` further rows
/// (the next rows of the same deterministic table) as validation data, `--batch` rows per global
/// step, `--micro-shards`, `--mode ordered|fast`, `--epochs`. Reports `val-losses`,
/// `val-accuracies`, `losses`, `accuracies` (the History's, as bits) and `weights` (a hash).
///
/// `--reference 1` (rank 0 only) adds, for every epoch, from the model the epoch ended with
/// (the snapshot `afterStep` gets at the epoch's end, which is the model `fit` validated):
/// `reference-val-losses` / `reference-val-accuracies`, what a single process's
/// `Trainer.evaluate` gives on the validation rows batched as the data-parallel micro-shards,
/// and `counted-val-accuracies`, the rows whose largest inference output is the label, counted.
/// It also trains the same model alone with `Trainer.fit` on the same global batches with
/// `validationData` batched at `--batch` and reports its `fit-val-losses` / `fit-val-accuracies`.
///
/// `--checkpoint PATH --stop-after N`: after global step N rank 0 writes a native checkpoint and
/// every rank stops (`stopped N`); `--resume PATH`: continue from it.
/// Faults, with `--report-errors 1` writing `error <description>` instead of failing:
/// `--val-features N` gives the validation rows N features, `--val-label-width N` gives them
/// labels of N values each (and `reference-error` is what `Trainer.fit` alone throws for them);
/// `--val-rows 0` leaves none; `--val-extra-rank r` gives rank r one validation row more;
/// `--val-unreadable-rank r` makes rank r unable to read any validation row but the first
/// (`--val-unreadable-from 0`: none at all, so the check before training fails on it).
enum ValidationCheck {
    /// Validation rows from a fixed table that one rank may fail to read.
    struct ValidationRows: RandomAccessDataset {
        typealias Element = (Tensor<Float>, Tensor<Float>)
        typealias Iterator = RandomAccessIterator<Self>

        let x: Tensor<Float>, y: Tensor<Float>
        /// The first row this rank cannot read (nil: it reads all).
        let unreadableFrom: Int?
        let rank: Int
        var count: Int { x.shape[0] }

        func element(at index: Int) throws -> Element {
            if let unreadableFrom, index >= unreadableFrom {
                throw DataParallelCheck.UnreadableData(path: "/data/validation-rank-\(rank).h5 row \(index)")
            }
            return (x.row(index), y.row(index))
        }
    }

    static func run(_ options: Options, world: Communicator, report: Report) throws {
        let rows = options.int("rows"), batch = options.int("batch"), microShards = options.int("micro-shards")
        let extra = options.values["val-extra-rank"].flatMap(Int.init) == world.rank ? 1 : 0
        let validationRows = options.int("val-rows") + extra
        guard let mode = ReductionMode(rawValue: options.text("mode")) else { fail("unknown --mode") }
        let table = try DataParallelCheck.inputs(rows: rows + validationRows)
        let labels = DataParallelCheck.labels(rows: rows + validationRows)
        let (x, y) = (try table.rows(0..<rows), try labels.rows(0..<rows))
        var (xv, yv) = (try table.rows(rows..<(rows + validationRows)), try labels.rows(rows..<(rows + validationRows)))
        if let features = options.values["val-features"].flatMap(Int.init) {
            xv = try Tensor(shape: [validationRows, features], scalars: (0..<(validationRows * features)).map { Float($0 % 7) / 7 })
        }
        if let width = options.values["val-label-width"].flatMap(Int.init) {
            yv = try Tensor(shape: [validationRows, width], scalars: (0..<(validationRows * width)).map { Float($0 % 3) })
        }
        let unreadable = options.values["val-unreadable-rank"].flatMap(Int.init) == world.rank
            ? options.values["val-unreadable-from"].flatMap(Int.init) ?? 1 : nil
        let validation = ValidationRows(x: xv, y: yv, unreadableFrom: unreadable, rank: world.rank)
        let data = try Slices(x, y).globalShuffle(seed: 11)
        let model = try Sequential(inputFeatures: DataParallelCheck.features,
                                   [Dense(units: 8, activation: .relu), BatchNormalization(momentum: 0.9),
                                    Dense(units: DataParallelCheck.classes, activation: .softmax)], seed: 5)
        let makeOptimizer = { () -> any Optimizer in
            options.values["optimizer"] == "adam" ? Adam(learningRate: 0.01) : SGD(learningRate: 0.1)
        }
        var trainer = try DataParallelTrainer(model: model, optimizer: makeOptimizer(), loss: .sparseCategoricalCrossentropy,
                                              communicator: world, globalBatchSize: batch, microShardCount: microShards, mode: mode)
        let resumed = try options.values["resume"].map { try NativeCheckpoint.load(from: URL(fileURLWithPath: $0), into: model).snapshot }
        let stopAfter = options.values["stop-after"].flatMap(Int.init)
        let optimizer = try OptimizerConfig(trainer.optimizer)
        let references = options.values["reference"] == "1" && world.rank == 0
        var validated: [Sequential] = []
        let history: History
        do {
            history = try trainer.fit(data, epochs: options.int("epochs"), metrics: options.values["metrics"] == "none" ? [] : nil,
                                      validationData: validation, resumingFrom: resumed) { step, snapshot in
                if references, snapshot.stepInEpoch == 0, snapshot.epoch == step.epoch + 1 { validated.append(snapshot.model) }
                guard snapshot.globalStep == stopAfter else { return }
                if world.rank == 0 {
                    try NativeCheckpoint.save(snapshot, optimizer: optimizer, to: URL(fileURLWithPath: options.text("checkpoint")))
                }
                throw DataParallelCheck.StopTraining()
            }
        } catch is DataParallelCheck.StopTraining {
            report.add("stopped", [String(stopAfter ?? 0)])
            return
        } catch where options.values["report-errors"] == "1" {
            report.add("error", [(error as? any LocalizedError)?.errorDescription ?? "\(error)"])
            if options.values["val-features"] != nil || options.values["val-label-width"] != nil {
                report.add("reference-error", [try referenceFitError(model, x: x, y: y, validation: (xv, yv), batch: batch)])
            }
            return
        }
        report.bits("val-losses", history["val_loss"] ?? [])
        report.bits("val-accuracies", history["val_accuracy"] ?? [])
        report.bits("losses", history["loss"] ?? [])
        report.bits("accuracies", history["accuracy"] ?? [])
        report.add("weights", [DataParallelCheck.hash(trainer.model)])
        guard references else { return }
        let plan = { (rowCount: Int) in try MicroShardPlan(globalBatchSize: rowCount, microShardCount: microShards, rankCount: 1) }
        var microShardBatches: [(Tensor<Float>, Tensor<Float>)] = []
        for start in stride(from: 0, to: validationRows, by: batch) {
            let batchPlan = try plan(min(batch, validationRows - start))
            for shard in 0..<microShards {
                let shardRows = batchPlan.rows(ofMicroShard: shard)
                guard !shardRows.isEmpty else { continue }
                let global = (start + shardRows.lowerBound)..<(start + shardRows.upperBound)
                microShardBatches.append((try xv.rows(global), try yv.rows(global)))
            }
        }
        var losses: [Double] = [], accuracies: [Double] = [], counted: [Double] = []
        for model in validated {
            let alone = Trainer(model: model, optimizer: SGD(), loss: .sparseCategoricalCrossentropy)
            let logs = try alone.evaluate(Slices(microShardBatches))
            losses.append(logs["loss"] ?? .nan)
            accuracies.append(logs["accuracy"] ?? .nan)
            counted.append(try countedAccuracy(model, x: xv, y: yv))
        }
        report.bits("reference-val-losses", losses)
        report.bits("reference-val-accuracies", accuracies)
        report.bits("counted-val-accuracies", counted)
        var alone = Trainer(model: model, optimizer: makeOptimizer(), loss: .sparseCategoricalCrossentropy)
        let fitted = try alone.fit(data.batch(batch), epochs: options.int("epochs"),
                                   validationData: try Slices(xv, yv).batch(batch), progress: .quiet)
        report.bits("fit-val-losses", fitted["val_loss"] ?? [])
        report.bits("fit-val-accuracies", fitted["val_accuracy"] ?? [])
    }

    /// The share of rows whose largest inference-mode output is the label.
    static func countedAccuracy(_ model: Sequential, x: Tensor<Float>, y: Tensor<Float>) throws -> Double {
        let outputs = try model(x, mode: .inference)
        let width = outputs.shape[1], scalars = outputs.scalars, labels = y.scalars
        var correct = 0
        for row in 0..<x.shape[0] {
            let values = scalars[(row * width)..<((row + 1) * width)]
            let predicted = values.indices.max { values[$0] < values[$1] }! - row * width
            if Float(predicted) == labels[row] { correct += 1 }
        }
        return Double(correct) / Double(x.shape[0])
    }

    /// What `Trainer.fit` alone throws for these validation rows (one epoch on the same
    /// global batches, the validation data batched at the global batch size).
    static func referenceFitError(_ model: Sequential, x: Tensor<Float>, y: Tensor<Float>,
                                  validation: (Tensor<Float>, Tensor<Float>), batch: Int) throws -> String {
        var alone = Trainer(model: model, optimizer: SGD(learningRate: 0.1), loss: .sparseCategoricalCrossentropy)
        do {
            try alone.fit(try Slices(x, y).globalShuffle(seed: 11).batch(batch), epochs: 1,
                          validationData: try Slices(validation.0, validation.1).batch(batch), progress: .quiet)
            return "none"
        } catch {
            return (error as? any LocalizedError)?.errorDescription ?? "\(error)"
        }
    }
}
