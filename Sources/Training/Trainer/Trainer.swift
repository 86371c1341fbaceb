import Datasets
import Tensors

/// Trains a ``Sequential`` model on a dataset of `(features, targets)` batches, evaluates it
/// and predicts with it — with the execution mode of every call explicit.
///
/// `fit` runs the model in `.training` mode (BatchNormalization normalizes with batch
/// statistics and updates its moving ones, Dropout drops). `evaluate` and `predict` run in
/// `.inference` mode unless you pass another. Which statistics BatchNormalization uses is part
/// of the model (``Sequential/withBatchNormStatistics(_:)``), so a choice made there is
/// honoured by all three.
///
/// ```swift
/// let train = try Slices(x, y).shuffle(bufferSize: 10_000, seed: 18).repeat().batch(32)
///     .map { (Tensor<Float>(converting: $0.0), Tensor<Float>(converting: $0.1)) }.prefetch(2)
/// var trainer = Trainer(model: model, optimizer: Adam(), loss: .binaryCrossentropy)
/// let history = try trainer.fit(train, epochs: 10, stepsPerEpoch: 313,
///                               validationData: validation, progress: .automatic)
/// let accuracy = try trainer.evaluate(test)["accuracy"]
/// let p = try trainer.predict(xTest, batchSize: 32)
/// ```
public struct Trainer: Sendable {
    /// A batch: features `[N, inputs]` and targets.
    public typealias Batch = (Tensor<Float>, Tensor<Float>)

    /// The model being trained; read it after `fit`.
    public var model: Sequential
    /// The optimizer and its state.
    public var optimizer: any Optimizer
    /// The training loss.
    public let loss: Loss
    /// Metric templates; each reported under its ``Metric/name`` (and `val_` + name).
    public let metrics: [any Metric]
    /// Why the last `fit` stopped early, if it did.
    public private(set) var stopReason: String?
    /// What the last `fit` warned about when it started (each once, also printed with its
    /// progress output); empty when nothing looked wrong.
    public private(set) var warnings: [TrainingWarning] = []
    /// Where `fit` writes its progress; `nil` is standard output. Tests capture it here.
    var progressOutput: (@Sendable (String) -> Void)?

    /// A trainer holding its own copy of `model` and `optimizer`; the original values are
    /// never changed.
    /// - Parameters:
    ///   - model: the starting model; ``model`` holds the trained one afterwards.
    ///   - optimizer: its state (moments, step count) lives inside the trainer from then on.
    ///   - loss: the loss `fit` minimises and `evaluate` reports as `"loss"`.
    ///   - metrics: `nil` picks Keras's "accuracy" for the loss and output width.
    public init(model: Sequential, optimizer: any Optimizer, loss: Loss, metrics: [any Metric]? = nil) {
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics ?? Self.defaultMetrics(model: model, loss: loss)
    }

    /// The metrics a trainer given none records: Keras's "accuracy" resolved for the loss and
    /// the output width (binary, sparse categorical or categorical), none for mean squared error.
    /// `DataParallelTrainer.fit` (Distributed) picks the same, so both histories have the same keys.
    public static func defaultMetrics(model: Sequential, loss: Loss) -> [any Metric] {
        loss.kind == .meanSquaredError ? [] : [kerasAccuracy(outputFeatures: model.outputFeatures, loss: loss)]
    }

    /// Trains for `epochs` epochs.
    ///
    /// With `stepsPerEpoch`, one iterator runs across all epochs and is not restarted between
    /// them (Keras's behaviour; use it with `repeat()`); if the data runs out, training stops
    /// and ``stopReason`` says so. Without it, each epoch is one full pass, iterated with the
    /// epoch number so that shuffles reshuffle. Validation restarts every epoch.
    ///
    /// - Parameters:
    ///   - data: `(features, targets)` batches; an infinite one (`repeat()`) needs `stepsPerEpoch`.
    ///   - epochs: the total number of epochs, counting those before a resume.
    ///   - stepsPerEpoch: batches per epoch; `nil` means one full pass of `data`.
    ///   - validationData: scored in inference mode after every epoch, reported as `val_*`;
    ///     any pipeline of batches (`Slices(x, y).batch(64)`), no type erasure needed.
    ///   - validationSteps: batches of `validationData` per epoch; required if it is infinite.
    ///   - callbacks: run after every step and epoch, in order; any of them can stop training.
    ///     At an epoch's end a ``CheckpointCallback`` saves after all of them have run, so its
    ///     snapshot holds every callback's state after that epoch, wherever it is listed.
    ///     A stop is then announced to each with the exact position it happened at
    ///     (``TrainingCallback/trainingDidStop(_:snapshot:)``), where ``CheckpointCallback``
    ///     writes a final checkpoint; an epoch cut short still reaches `epochDidEnd` with its
    ///     partial logs, marked ``EpochEvent/isComplete`` `false`, and is recorded in the history.
    ///   - progress: how much to print; `.quiet` for tests and libraries. Warnings about the
    ///     model and loss (``warnings``) are printed first, once per call.
    ///   - snapshot: a snapshot taken by a ``CheckpointCallback``; training continues at
    ///     its epoch and step, with its model, optimizer state, pipeline position and history,
    ///     up to the same total `epochs`; `callbacks` that keep a state (``ResumableCallback``)
    ///     continue from the snapshot's. A snapshot taken where a callback had stopped training
    ///     (``EarlyStopping``'s last epoch) trains nothing more: `fit` ends at once as that run
    ///     ended, returning its History (``TrainingCallback/stopReason(resumingAt:)``).
    /// When training ends (also after a stop), the optimizer finalizes the model as Keras's `fit`
    /// does (``Optimizer/finalizeVariableValues(of:)``): with `useEMA` on, ``model`` then holds
    /// the moving averages of the weights. Snapshots taken during training hold the training
    /// weights, so a resumed `fit` ends with the same finalized model as the uninterrupted one.
    ///
    /// - Returns: the history of every epoch, including those before a resume.
    @discardableResult
    public mutating func fit<Train: Dataset>(
        _ data: Train, epochs: Int, stepsPerEpoch: Int? = nil,
        validationData: (any Dataset<Batch>)? = nil, validationSteps: Int? = nil,
        callbacks: [any TrainingCallback] = [], progress: ProgressStyle = .automatic,
        resumingFrom snapshot: TrainingSnapshot? = nil
    ) throws -> History where Train.Element == Batch {
        guard epochs >= 0 else { throw TrainingError.invalidCount(argument: "epochs", message: "must be >= 0, got \(epochs)") }
        if let steps = stepsPerEpoch, steps <= 0 {
            throw TrainingError.invalidCount(argument: "stepsPerEpoch", message: "must be positive, got \(steps)")
        }
        if stepsPerEpoch == nil, data.cardinality.count == nil {
            throw TrainingError.stepsRequired(argument: "data", cardinality: "\(data.cardinality)")
        }
        if let validationData, validationSteps == nil, validationData.cardinality.count == nil {
            throw TrainingError.stepsRequired(argument: "validationData", cardinality: "\(validationData.cardinality)")
        }
        var run = try FitRun(trainer: self, data: data, stepsPerEpoch: stepsPerEpoch, snapshot: snapshot)
        if let snapshot {
            model = snapshot.model
            optimizer.state = snapshot.optimizerState
        }
        stopReason = nil
        var callbacks = callbacks
        if let snapshot { try callbacks.restore(snapshot.callbackStates, optimizer: &optimizer) }
        try callbacks.trainingWillBegin()
        var display = ProgressDisplay(style: progress, write: progressOutput)
        warnings = TrainingWarning.check(model: model, loss: loss)
        for warning in warnings { display.note("Warning: \(warning)") }
        let stepsShown = stepsPerEpoch ?? data.cardinality.count
        // Last step's gradients, whose storage the next step overwrites instead of allocating.
        var spareGradients: Gradients?
        // A snapshot of where a callback had stopped: no further step, as in the run that stopped.
        let stoppedBefore = snapshot.flatMap { callbacks.stopReason(resumingAt: ResumePosition($0)) }
        stopReason = stoppedBefore

        epochLoop: while stoppedBefore == nil, run.epoch < epochs {
            display.beginEpoch(run.epoch, of: epochs, steps: stepsShown)
            while stepsPerEpoch.map({ run.stepInEpoch < $0 }) ?? true {
                guard let (x, y) = try run.nextBatch() else {
                    if stepsPerEpoch != nil {
                        stopReason = "the training data ran out at epoch \(run.epoch + 1), step \(run.stepInEpoch + 1)"
                            + " (use repeat() with stepsPerEpoch)"
                    }
                    break
                }
                let step = try model.trainingStep(x: x, y: y, loss: loss, mode: .training, reusing: spareGradients.take())
                let (batchLoss, predictions) = (step.loss, step.predictions)
                try model.apply(step.stateUpdate)
                try optimizer.apply(step.gradients, to: &model)
                spareGradients = step.gradients
                try run.record(loss: batchLoss, predictions: predictions, targets: y, metrics: metrics)
                run.stepInEpoch += 1
                run.globalStep += 1
                display.step(run.stepInEpoch) { run.runningLogs(metrics) }
                let event = StepEvent(epoch: run.epoch, step: run.stepInEpoch, globalStep: run.globalStep, loss: batchLoss,
                                      inputs: x, targets: y)
                if let reason = try callbacks.stepDidEnd(event, snapshot: { run.snapshot(of: self, callbacks: $0) }) {
                    stopReason = reason
                }
                if stopReason != nil { break }
            }
            if let stopReason {
                // The exact position, before the partial epoch is closed: what a resume needs.
                try announceStop(stopReason, run: run, to: &callbacks)
                if run.stepInEpoch == 0 { break epochLoop }
            }
            if run.stepInEpoch == 0 { throw TrainingError.emptyDataset(argument: "data") }

            var logs = run.epochLogs(metrics)
            if let validationData, stopReason == nil {
                let validation = try evaluate(validationData, steps: validationSteps, epoch: UInt64(run.epoch))
                for (name, value) in validation { logs["val_" + name] = value }
            }
            display.endEpoch(run.epoch, stepsRun: run.stepInEpoch, logs: Self.ordered(logs))
            let isComplete = stopReason == nil
            run.finishEpoch(logs: logs)
            let event = EpochEvent(epoch: run.epoch - 1, logs: logs, model: model, isComplete: isComplete)
            stopReason = try callbacks.epochDidEnd(event, stopReason: stopReason,
                                                   snapshot: { run.snapshot(of: self, callbacks: $0) },
                                                   apply: { try $0.applyLearningRateChange(to: &optimizer) })
            if let stopReason {
                if isComplete { try announceStop(stopReason, run: run, to: &callbacks) }
                break
            }
        }
        // Keras's fit: `finalize_variable_values` (EMA weights) before `on_train_end`, so a
        // callback restoring its best weights still wins.
        if epochs > 0 { try optimizer.finalizeVariableValues(of: &model) }
        model = callbacks.trainingDidEnd(model: model)
        if let stopReason, progress != .quiet {
            display.note(stopReason)
        }
        return run.history
    }

    /// Tells every callback where training stopped (``TrainingCallback/trainingDidStop(_:snapshot:)``).
    private func announceStop<Train: Dataset>(_ reason: String, run: FitRun<Train>,
                                              to callbacks: inout [any TrainingCallback]) throws {
        let event = StopEvent(epoch: run.epoch, stepInEpoch: run.stepInEpoch, globalStep: run.globalStep, reason: reason)
        try callbacks.trainingDidStop(event) { run.snapshot(of: self, callbacks: $0) }
    }

    /// The loss and metrics over a dataset, in `mode` (inference by default). Nothing in the
    /// model changes.
    /// - Parameters:
    ///   - data: `(features, targets)` batches.
    ///   - steps: how many batches to use; required for infinite datasets.
    ///   - mode: `.training` scores with batch statistics and Dropout on, without updating
    ///     anything, for comparing the two modes.
    ///   - epoch: the epoch handed to `data`'s iterator, so a reshuffling pipeline can be
    ///     scored on a chosen pass.
    public func evaluate<D: Dataset>(_ data: D, steps: Int? = nil, mode: ExecutionMode = .inference,
                                     epoch: UInt64 = 0) throws -> [String: Double] where D.Element == Batch {
        if steps == nil, data.cardinality.count == nil {
            throw TrainingError.stepsRequired(argument: "data", cardinality: "\(data.cardinality)")
        }
        var iterator = data.makeIterator(epoch: epoch)
        var lossSum = RunningSum()
        var metricSums = [RunningSum](repeating: RunningSum(), count: metrics.count)
        var taken = 0
        while steps.map({ taken < $0 }) ?? true, let (x, y) = try iterator.next() {
            let (batchLoss, predictions) = try model.loss(x: x, y: y, loss: loss, mode: mode)
            let weight = Double(x.rowCount)
            lossSum.add(Double(batchLoss), weight: weight)
            for (i, template) in metrics.enumerated() {
                var metric = template
                metric.reset()
                try metric.update(predictions: predictions, targets: y)
                metricSums[i].add(metric.result, weight: weight)
            }
            taken += 1
        }
        guard taken > 0 else { throw TrainingError.emptyDataset(argument: "data") }
        var logs = ["loss": lossSum.mean]
        for (i, metric) in metrics.enumerated() { logs[metric.name] = metricSums[i].mean }
        return logs
    }

    /// The model's outputs for every batch of a dataset of feature batches, stacked, in
    /// `mode` (inference by default). Nothing in the model changes.
    public func predict<D: Dataset>(_ data: D, steps: Int? = nil, mode: ExecutionMode = .inference)
        throws -> Tensor<Float> where D.Element == Tensor<Float> {
        if steps == nil, data.cardinality.count == nil {
            throw TrainingError.stepsRequired(argument: "data", cardinality: "\(data.cardinality)")
        }
        var iterator = data.makeIterator()
        var outputs: [Tensor<Float>] = []
        while steps.map({ outputs.count < $0 }) ?? true, let x = try iterator.next() {
            outputs.append(try model(x, mode: mode))
        }
        guard !outputs.isEmpty else { throw TrainingError.emptyDataset(argument: "data") }
        return try Tensor.concatenatingRows(outputs)
    }

    /// The model's outputs for the rows of `x`, computed in batches of `batchSize` rows —
    /// which matters when BatchNormalization uses batch statistics.
    public func predict(_ x: Tensor<Float>, batchSize: Int = 32, mode: ExecutionMode = .inference) throws -> Tensor<Float> {
        try model.predict(x, batchSize: batchSize, mode: mode)
    }

    /// Keras's log order: loss, metrics, then the validation versions.
    static func ordered(_ logs: [String: Double]) -> [(String, Double)] {
        logOrder(logs.keys).map { ($0, logs[$0]!) }
    }

    /// Log names in Keras's order, as `fit`'s progress lines print them: `loss`, the metrics,
    /// `val_loss`, the validation metrics (each group by name).
    public static func logOrder(_ names: some Sequence<String>) -> [String] {
        func rank(_ key: String) -> (Int, String) {
            let validation = key.hasPrefix("val_") ? 2 : 0
            let isLoss = key == "loss" || key == "val_loss"
            return (validation + (isLoss ? 0 : 1), key)
        }
        return names.sorted { rank($0) < rank($1) }
    }
}

extension Sequential {
    /// The outputs for the rows of `x` in batches of `batchSize` rows (the last may be short).
    public func predict(_ x: Tensor<Float>, batchSize: Int = 32, mode: ExecutionMode = .inference) throws -> Tensor<Float> {
        guard batchSize > 0 else {
            throw TrainingError.invalidCount(argument: "batchSize", message: "must be positive, got \(batchSize)")
        }
        guard x.rank == inputShape.count + 1, x.rowCount > 0 else { return try self(x, mode: mode) }
        var outputs: [Tensor<Float>] = []
        var start = 0
        while start < x.rowCount {
            let end = Swift.min(start + batchSize, x.rowCount)
            outputs.append(try self(x.rows(start..<end), mode: mode))
            start = end
        }
        return try Tensor.concatenatingRows(outputs)
    }
}
