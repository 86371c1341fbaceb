import Checkpoints
import Datasets
import Distributed
import Foundation
import Tensors
import Training

/// The `train` check: a small MLP (4 -> 8 relu [-> BatchNormalization] -> 3 softmax, Adam)
/// trained data-parallel on `--rows` synthetic rows in a global shuffle, `--batch` rows per
/// global step, `--micro-shards`, `--mode ordered|fast`, `--epochs`, `--batchnorm 0|1`. Reports
/// after every step `step-<epoch>-<step>` the weights' FNV-1a hash and the loss bits, and at the
/// end `weights` (every variable's bits, moving statistics included), `losses` (epoch means) and
/// `evaluation` (the trained model's global loss and accuracy from `evaluate`) and `predictions`
/// (its outputs for every row from `predict`).
/// `--fail-rank r` makes rank r unable to read its rows (a "cannot open" error from its data).
/// `--checkpoint PATH --stop-after N`: after global step N rank 0 writes a native checkpoint to
/// PATH and every rank stops (reporting `stopped N`); `--resume PATH`: every rank continues from
/// that checkpoint. `--report-errors 1`: a `DataParallelError` is written to the report as
/// `error <description>` and the rank ends normally, so a test sees what every rank threw.
/// `--hidden N`: N units in the hidden layer instead of 8 (1024 makes the reduced vector wide
/// enough for the all-to-all path of `ordered` mode).
/// `--mismatch model|rows --mismatch-rank r`: rank r's hidden layer has one unit more,
/// or its data one row more than the other ranks' (ranks that disagree must fail, not hang).
/// `--log-reads 1`: reports `reads`, the source rows this rank read during `fit`.
/// `--predict-only 1`: no training, only `predict` of the untrained model (`predictions`).
/// `--bn-statistics synchronized|ghostBatch|perLayer` (default: the trainer's default, synchronized);
/// `--bn-flag 1` gives the hidden BatchNormalization `synchronized: true` (the images' one keeps
/// false); `--dropout 1` puts Dropout(0.25) after it. `--report-errors 1` with `--fail-rank` or `--flaky` also
/// reports `collectives`: how many collectives this rank entered in one healthy step (a copy of
/// the trainer on readable rows) and in the failed fit (that step's and the fit's start agreement).
/// `--flaky forward|backward --flaky-rank r`: a custom layer (`FlakyLayer`, named `flaky`) after
/// the hidden Dense throws in that pass on rank r during `fit` (not in the healthy step that
/// `--report-errors 1` counts collectives in): in front of the hidden BatchNormalization for
/// `forward`, behind it for `backward`, so that the other ranks go on into its sums.
/// `--images 1` puts Reshape([2, 2, 1]) -> BatchNormalization (statistics over N·H·W) -> Flatten
/// in front. `--reference 1`: also trains the same model in this one process with
/// `Sequential.trainingStep` on each whole global batch and reports its `reference-weights`.
/// `--overlap 0`: `fast` mode reduces the gradients after the backward pass instead of during it.
/// `--transport automatic|shared-memory|collectives`: the trainer's transport (default: the trainer's, automatic);
/// the report's `transport` line says whether a shared-memory window carried the gradients.
/// `--optimizer sgd`: SGD(0.1) instead of Adam(0.01), whose first steps move every weight by
/// about the learning rate whatever the gradient's size, so that rounding differences of a
/// near-zero gradient can flip a step's sign (comparisons with a tolerance need SGD).
/// `--recalibrate 1`: after training, `recalibrateBatchNormalization` on the rows scaled by 3
/// plus 40, reporting the `recalibrated` moving statistics and, computed alone by
/// `Sequential.recalibratingBatchNormalization`, `recalibrated-reference`.
/// Every run reports `accuracies`, the History's epoch "accuracy" (the fit's default metric);
/// `--metrics none` trains without metrics. `--count-accuracy 1`: after every step, rank by
/// rank, the model as it was before the step predicts the whole global batch in training mode
/// and the correct predictions are counted; `counted-accuracies` are each epoch's count over its rows.
enum DataParallelCheck {
    static let features = 4, classes = 3

    struct StopTraining: Error {}

    struct UnreadableData: Error, LocalizedError {
        var path: String
        var errorDescription: String? { "cannot open \(path): no such file" }
    }

    /// The source indices a rank's data read, from any thread.
    final class ReadLog: @unchecked Sendable {
        private let lock = NSLock()
        private var log: [Int] = []
        func add(_ index: Int) { lock.withLock { log.append(index) } }
        var indices: [Int] { lock.withLock { log } }
    }

    static func run(_ options: Options, world: Communicator, report: Report) throws {
        // --mismatch model|rows --mismatch-rank r: rank r builds a hidden layer of 9 units, or has one row more.
        let mismatch = options.values["mismatch-rank"].flatMap(Int.init) == world.rank ? options.values["mismatch"] : nil
        let rows = options.int("rows") + (mismatch == "rows" ? 1 : 0)
        guard let mode = ReductionMode(rawValue: options.text("mode")) else { fail("unknown --mode") }
        let failingRank = options.values["fail-rank"].flatMap(Int.init)
        let rank = world.rank
        let cannotRead = failingRank == rank
        let (x, y) = (try inputs(rows: rows), labels(rows: rows))
        let reads = ReadLog()
        // --log-reads 1: rows fetched one at a time through a closure that records each index.
        let source = options.values["log-reads"] == "1"
            ? Slices(count: rows) { index in reads.add(index); return (x.row(index), y.row(index)) }
            : try Slices(x, y)
        let data = source.globalShuffle(seed: 11).map { row in
            if cannotRead { throw UnreadableData(path: "/data/rank-\(rank).h5") }
            return row
        }
        var layers: [any Layer] = options.values["images"] == "1"
            ? [Reshape(targetShape: [2, 2, 1]), BatchNormalization(momentum: 0.8), Flatten()] : []
        let hidden = options.values["hidden"].flatMap(Int.init) ?? 8
        layers.append(Dense(units: mismatch == "model" ? hidden + 1 : hidden, activation: .relu))
        let flakyPass = options.values["flaky"].map { name in
            guard let pass = FlakyLayer.Pass(rawValue: name) else { fail("unknown --flaky") }
            return pass
        }
        let flakyTrigger = FlakyLayer.Trigger()
        let flaky = flakyPass.map { pass in
            FlakyLayer(failingPass: options.values["flaky-rank"].flatMap(Int.init) == rank ? pass : nil, rank: rank, trigger: flakyTrigger)
        }
        if let flaky, flakyPass == .forward { layers.append(flaky) }
        if options.values["batchnorm"] == "1" {
            layers.append(BatchNormalization(momentum: 0.9, synchronized: options.values["bn-flag"] == "1"))
        }
        if let flaky, flakyPass == .backward { layers.append(flaky) }
        if options.values["dropout"] == "1" { layers.append(Dropout(rate: 0.25)) }
        layers.append(Dense(units: classes, activation: .softmax))
        let model = try Sequential(inputFeatures: features, layers, seed: 5)
        let chosenOptimizer: any Optimizer = options.values["optimizer"] == "sgd" ? SGD(learningRate: 0.1) : Adam(learningRate: 0.01)
        var trainer = try DataParallelTrainer(model: model, optimizer: chosenOptimizer,
                                              loss: .sparseCategoricalCrossentropy, communicator: world,
                                              globalBatchSize: options.int("batch"),
                                              microShardCount: options.int("micro-shards"), mode: mode,
                                              batchNormStatistics: options.values["bn-statistics"].map {
                                                  guard let scope = BatchNormStatisticsScope(rawValue: $0) else { fail("unknown --bn-statistics") }
                                                  return scope
                                              } ?? .synchronized,
                                              overlapsGradientReduction: options.values["overlap"] != "0",
                                              transport: options.values["transport"].map {
                                                  guard let transport = ReductionTransport(rawValue: $0) else { fail("unknown --transport") }
                                                  return transport
                                              } ?? .automatic)
        if options.values["predict-only"] == "1" {
            do {
                report.bits("predictions", try trainer.predict(data).scalars)
            } catch let error as DataParallelError where options.values["report-errors"] == "1" {
                report.add("error", [error.errorDescription ?? "\(error)"])
            }
            return
        }
        var healthyStepCollectives: Int?
        if failingRank != nil || flaky != nil, options.values["report-errors"] == "1" {
            var healthy = trainer
            let before = world.collectivesEntered
            _ = try healthy.step(source.globalShuffle(seed: 11), epoch: 0, step: 0)
            healthyStepCollectives = world.collectivesEntered - before
        }
        flakyTrigger.armed = true
        let collectivesBeforeFit = world.collectivesEntered
        let resumed = try options.values["resume"].map { try NativeCheckpoint.load(from: URL(fileURLWithPath: $0), into: model).snapshot }
        let stopAfter = options.values["stop-after"].flatMap(Int.init)
        let optimizer = try OptimizerConfig(trainer.optimizer)
        let history: History
        let metrics: [any Metric]? = options.values["metrics"] == "none" ? [] : nil
        var counter = options.values["count-accuracy"] == "1" ? AccuracyCounter(model: resumed?.model ?? model) : nil
        do {
            history = try trainer.fit(data, epochs: options.int("epochs"), metrics: metrics, resumingFrom: resumed) { step, snapshot in
                try counter?.count(step, data: data, batch: options.int("batch"), after: snapshot.model)
                report.add("step-\(step.epoch)-\(step.step)",
                           [hash(snapshot.model), String(step.loss.bitPattern, radix: 16), String(step.rowCount)])
                guard snapshot.globalStep == stopAfter else { return }
                if world.rank == 0 {
                    try NativeCheckpoint.save(snapshot, optimizer: optimizer, to: URL(fileURLWithPath: options.text("checkpoint")))
                }
                throw StopTraining()
            }
        } catch is StopTraining {
            report.add("stopped", [String(stopAfter ?? 0)])
            return
        } catch let error as DataParallelError where options.values["report-errors"] == "1" {
            report.add("error", [error.errorDescription ?? "\(error)"])
            if let healthyStepCollectives {
                report.add("collectives", [String(healthyStepCollectives), String(world.collectivesEntered - collectivesBeforeFit)])
            }
            return
        } catch let error as DistributedError where options.values["report-errors"] == "1" {
            report.add("error", [error.errorDescription ?? "\(error)"])
            return
        }
        report.add("transport", [trainer.usesSharedMemoryWindow ? "shared-memory-window" : "collectives"])
        if options.values["log-reads"] == "1" { report.add("reads", reads.indices.sorted().map(String.init)) }
        report.bits("weights", trainer.model.variables.flatMap(\.value.scalars))
        report.bits("losses", history["loss"] ?? [])
        report.bits("accuracies", history["accuracy"] ?? [])
        if let counter { report.bits("counted-accuracies", counter.epochAccuracies) }
        let evaluation = try trainer.evaluate(data, metrics: [SparseCategoricalAccuracy()])
        report.bits("evaluation", [evaluation["loss"] ?? .nan, evaluation["accuracy"] ?? .nan])
        report.bits("predictions", try trainer.predict(data).scalars)
        if options.values["reference"] == "1" {
            let reference = try wholeBatchTraining(model, data: data, batch: options.int("batch"), epochs: options.int("epochs"))
            report.bits("reference-weights", reference.variables.flatMap(\.value.scalars))
            report.add("rng-states", trainer.model.randomStates.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
            report.add("reference-rng-states", reference.randomStates.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        }
        if options.values["recalibrate"] == "1" {
            let shifted = x * 3 + 40
            let statistics = { (model: Sequential) in
                model.variables.filter { $0.role == .movingStatistic }.flatMap(\.value.scalars)
            }
            let trained = trainer.model
            try trainer.recalibrateBatchNormalization(on: try Slices(shifted, y).globalShuffle(seed: 3))
            report.bits("recalibrated", statistics(trainer.model))
            report.bits("recalibrated-reference", statistics(try trained.recalibratingBatchNormalization(on: shifted, batchSize: 7)))
        }
    }

    /// `model` trained by one process on each whole global batch of `data`'s passes, in order:
    /// the independent reference of what data-parallel training with synchronized statistics computes.
    static func wholeBatchTraining<Data: RandomAccessDataset>(
        _ model: Sequential, data: Data, batch: Int, epochs: Int
    ) throws -> Sequential where Data.Element == (Tensor<Float>, Tensor<Float>) {
        var model = model
        var adam = Adam(learningRate: 0.01)
        for epoch in 0..<epochs {
            for start in stride(from: 0, to: data.count, by: batch) {
                let rows = try (start..<min(start + batch, data.count)).map { try data.element(at: $0, epoch: UInt64(epoch)) }
                let step = try model.trainingStep(x: Tensor.stacking(rows.map(\.0)), y: Tensor.stacking(rows.map(\.1)),
                                                  loss: .sparseCategoricalCrossentropy)
                try model.apply(step.stateUpdate)
                try adam.apply(step.gradients, to: &model)
            }
        }
        return model
    }

    /// Deterministic, varied features: no generator, so every rank builds the same table.
    static func inputs(rows: Int) throws -> Tensor<Float> {
        try Tensor(shape: [rows, features], scalars: (0..<(rows * features)).map { index in
            Float((index * 37 + index / features * 11) % 101) / 50 - 1
        })
    }

    static func labels(rows: Int) -> Tensor<Float> {
        Tensor((0..<rows).map { Float(($0 * 7 + $0 / 5) % classes) })
    }

    /// FNV-1a over the bits of every variable, in model order.
    static func hash(_ model: Sequential) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for variable in model.variables {
            for scalar in variable.value.scalars {
                var bits = scalar.bitPattern
                for _ in 0..<4 {
                    hash = (hash ^ UInt64(bits & 0xff)) &* 0x100_0000_01b3
                    bits >>= 8
                }
            }
        }
        return String(hash, radix: 16)
    }
}

/// An independent count of the training accuracy `fit` records: the model before each step
/// predicts the step's whole global batch in one training-mode forward pass (global batch
/// statistics, as synchronized BatchNormalization uses), and the rows whose largest output is
/// the label are counted.
struct AccuracyCounter {
    var model: Sequential
    private var correct: [Int: Int] = [:], rows: [Int: Int] = [:]

    init(model: Sequential) { self.model = model }

    var epochAccuracies: [Double] {
        rows.keys.sorted().map { Double(correct[$0, default: 0]) / Double(rows[$0, default: 1]) }
    }

    mutating func count<Data: RandomAccessDataset>(
        _ step: DataParallelStepResult, data: Data, batch: Int, after trained: Sequential
    ) throws where Data.Element == (Tensor<Float>, Tensor<Float>) {
        let start = step.step * batch
        let elements = try (start..<min(start + batch, data.count)).map { try data.element(at: $0, epoch: UInt64(step.epoch)) }
        let outputs = try model(Tensor.stacking(elements.map(\.0)), mode: .training)
        let width = outputs.shape[1]
        let scalars = outputs.scalars
        for (row, element) in elements.enumerated() {
            let values = scalars[(row * width)..<((row + 1) * width)]
            let predicted = values.indices.max { values[$0] < values[$1] }! - row * width
            if Float(predicted) == element.1.scalars[0] { correct[step.epoch, default: 0] += 1 }
        }
        rows[step.epoch, default: 0] += elements.count
        model = trained
    }
}
