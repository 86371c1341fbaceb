import Datasets
import Tensors
import Training

extension DataParallelTrainer {
    /// Trains up to `epochs` full passes over `data` and returns the history of each epoch's
    /// global mean loss (`"loss"`: the step losses weighted by their row counts) and training
    /// metrics (under each metric's Keras name, e.g. `"accuracy"`). Epoch `e` reads the
    /// dataset's pass `e`, so a `globalShuffle(seed:)` reshuffles every epoch, identically on every rank.
    ///
    /// The metrics are exact global values, as `Trainer.fit`'s: each micro-shard's metric on the
    /// predictions of its training-mode forward pass (the step's own, no extra pass), times its
    /// rows, summed over the ranks (in ``ReductionMode/ordered`` in micro-shard order, so the
    /// epoch's value is bitwise the same with 1, 2, 4 ... ranks) and over the epoch, then divided
    /// by the epoch's rows. They cost one small collective per step; `metrics: []` records the
    /// loss alone, as Keras's `compile()` without metrics does, and leaves the step as it was.
    ///
    /// The position in the data is global: epoch `e`, step `s` is rows `s·B ..< (s+1)·B` of pass
    /// `e` whatever the number of ranks, so a snapshot taken with one rank count resumes on
    /// another. Rank 0 saves it (a `CheckpointCallback` in `callbacks`, or `afterStep` with the
    /// Checkpoints module's `NativeCheckpoint.save`); resumed with the same `globalBatchSize` and
    /// `microShardCount` in ``ReductionMode/ordered``, the run ends bitwise identical to an
    /// uninterrupted one.
    ///
    /// **Callbacks** are `Trainer.fit`'s (`EarlyStopping`, `ReduceLROnPlateau`, `CSVLogger`,
    /// `CheckpointCallback`, `TerminateOnNonFiniteLoss`, `TimeBudgetStop`, your own), called on
    /// every rank with the same events in the same order as `Trainer.fit` calls them, and the
    /// global logs the History records (DataParallelTrainer+Callbacks.swift): a `.stop` on any
    /// rank stops every rank at the same step, a throw on any rank fails every rank there,
    /// `CheckpointCallback`'s `save` and `CSVLogger`'s file run on rank 0 only, and their
    /// snapshots hold the global position, so they resume on any number of ranks.
    /// - Parameters:
    ///   - data: the unsharded, unbatched `(features, targets)` rows in the global order.
    ///   - epochs: the total number of passes, counting those before a resume.
    ///   - metrics: `nil` (the default) picks what `Trainer` picks (`Trainer.defaultMetrics(model:loss:)`:
    ///     Keras's "accuracy" for the loss and output width, none for mean squared error); `[]`
    ///     records none. Each must be a mean over rows (the accuracies are). Every rank must pass the same.
    ///   - validationData: unsharded, unbatched `(features, targets)` rows scored in inference
    ///     mode after every epoch, recorded as `val_loss` and `val_` + each metric's name (as
    ///     `Trainer.fit`'s `validationData`), exact global values on every rank; checked before
    ///     the first step (DataParallelTrainer+Validation.swift).
    ///   - validationSteps: score only the first `validationSteps` global batches of
    ///     `validationData` (rows `0 ..< validationSteps·globalBatchSize` of its pass `e` after
    ///     epoch `e`), as `Trainer.fit`'s `validationSteps` takes the first batches of a pipeline
    ///     batched at the global batch size; `nil` scores every row. At least 1, and only with
    ///     `validationData` (``DataParallelError/invalidArgument(argument:reason:)`` otherwise):
    ///     the rows are random-access and finite, so it is never required, only a way to validate on less.
    ///   - callbacks: run after every step and epoch, in order, on every rank (above); every
    ///     rank must pass the same kinds in the same order (checked with the first step:
    ///     ``DistributedError/rankDisagreement(operation:rank:quantity:local:minimum:maximum:)``).
    ///     Without callbacks no collective is added to a step.
    ///   - progress: `Trainer.fit`'s progress display (a bar or a line per epoch, the global logs,
    ///     and why training stopped), printed by rank 0 only; `.quiet` (the default, unlike
    ///     `Trainer.fit`'s `.automatic`) prints nothing, so that a library call under `mpirun` stays silent.
    ///   - snapshot: a snapshot handed to `afterStep` or a `CheckpointCallback` by an earlier run
    ///     (possibly on another number of ranks): training continues at its epoch and step, with
    ///     its model, optimizer state, history, unfinished epoch's loss and metric sums, and the
    ///     states of the resumable callbacks. A snapshot taken where a callback had stopped
    ///     training (`EarlyStopping`'s last epoch) trains nothing more, on every rank alike: `fit`
    ///     ends at once as that run ended, returning its History (`TrainingCallback.stopReason(resumingAt:)`,
    ///     agreed in one small collective that every rank enters at the start of every `fit`).
    ///   - afterStep: called on every rank after every step (and after that step's callbacks) with
    ///     its result and a snapshot of the state after it (identical on every rank; after a
    ///     callback's stop inside an epoch, the exact position, not the closed partial epoch); a
    ///     throw stops training on this rank, so throw on every rank alike (a callback's throw is agreed).
    ///
    /// When training ends, the optimizer finalizes the variables as `Trainer.fit` (Training)
    /// does (`finalizeVariableValues(of:)`): with `useEMA` on, ``model`` then holds the moving
    /// averages of the weights, identically on every rank; then each callback's
    /// `trainingDidEnd(model:)` may hand back a model to keep (`EarlyStopping`'s best), the same on every rank.
    @discardableResult
    public mutating func fit<Data: RandomAccessDataset>(
        _ data: Data, epochs: Int, metrics: [any Metric]? = nil, validationData: ValidationRows? = nil,
        validationSteps: Int? = nil, callbacks: [any TrainingCallback] = [], progress: ProgressStyle = .quiet,
        resumingFrom snapshot: TrainingSnapshot? = nil,
        afterStep: (_ result: DataParallelStepResult, _ snapshot: TrainingSnapshot) throws -> Void = { _, _ in }
    ) throws -> History where Data.Element == (Tensor<Float>, Tensor<Float>) {
        guard epochs >= 0 else { throw DataParallelError.invalidArgument(argument: "epochs", reason: "must be >= 0, got \(epochs)") }
        if let validationSteps {
            guard validationSteps >= 1 else {
                throw DataParallelError.invalidArgument(argument: "validationSteps", reason: "must be at least 1, got \(validationSteps)")
            }
            guard validationData != nil else {
                throw DataParallelError.invalidArgument(argument: "validationSteps", reason: "limits validationData, but there is none")
            }
        }
        try Self.checkRows(data)
        let metrics = metrics ?? Trainer.defaultMetrics(model: model, loss: loss)
        let metricNames = metrics.map(\.name)
        var position = try startingPosition(resumingFrom: snapshot, rows: data.count)
        stopReason = nil
        var run = CallbackRun(callbacks, communicator: communicator)
        if let snapshot { try run.callbacks.restore(snapshot.callbackStates, optimizer: &optimizer) }
        try run.begin()
        // Entered by every rank, snapshot or not: a snapshot given to some ranks only (loaded on
        // rank 0 alone) must not leave the others in another collective; the first step's
        // agreement then names the differing positions.
        stopReason = try run.agreeOnResumedStop(at: ResumePosition(position), learningRate: optimizer.learningRate)
        if stopReason == nil, position.epoch < epochs { try checkValidationData(validationData, epoch: position.epoch) }
        let steps = stepsPerEpoch(rowCount: data.count)
        let noRows = Tensor<Float>(zeros: [0])
        var display = ProgressDisplay(style: communicator.rank == 0 ? progress : .quiet)
        var epochShown: Int?
        while stopReason == nil, position.epoch < epochs {
            if epochShown != position.epoch {
                display.beginEpoch(position.epoch, of: epochs, steps: steps)
                epochShown = position.epoch
            }
            var result: DataParallelStepResult?
            // After a stop inside an epoch, afterStep gets the exact position (what a resume
            // needs), as a CheckpointCallback's trainingDidStop does, not the closed partial epoch.
            var stoppedAt: TrainingSnapshot?
            if position.stepInEpoch < steps {
                let stepResult = try agreedStep(data, position: position, metrics: metrics, run: &run)
                Self.accumulate(stepResult, into: &position.runningSums)
                position.stepInEpoch += 1
                position.globalStep += 1
                result = stepResult
                display.step(position.stepInEpoch) {
                    Trainer.logOrder(position.runningSums.keys).map { ($0, position.runningSums[$0]?.mean ?? 0) }
                }
                if run.isActive {
                    // No rank holds the global batch: the event's rows are empty (a NaN guard names the model).
                    let event = StepEvent(epoch: position.epoch, step: position.stepInEpoch, globalStep: position.globalStep,
                                          loss: stepResult.loss, inputs: noRows, targets: noRows)
                    let current = position
                    stopReason = try run.agree(phase: "stepDidEnd (epoch \(position.epoch), step \(position.stepInEpoch - 1))",
                                               learningRate: { optimizer.learningRate }) { callbacks in
                        try callbacks.stepDidEnd(event) { callbackSnapshot(current, callbacks: $0) }
                    }
                }
            }
            if let reason = stopReason {
                // The exact position, before the partial epoch is closed: what a resume needs.
                try announceStop(reason, position: position, run: &run)
                stoppedAt = callbackSnapshot(position, callbacks: run.callbacks)
            }
            if stopReason != nil || position.stepInEpoch >= steps {
                // An epoch ends: all its steps ran (an empty dataset, or a snapshot of a longer
                // pass, ends it at once), or a callback stopped inside it (partial logs, no validation).
                let isComplete = stopReason == nil
                let validation = isComplete
                    ? try validationLogs(validationData, steps: validationSteps, metrics: metrics, epoch: position.epoch) : [:]
                let stepsRun = position.stepInEpoch
                let logs = Self.endEpoch(&position, metricNames: metricNames, validation: validation)
                display.endEpoch(position.epoch - 1, stepsRun: stepsRun, logs: Trainer.logOrder(logs.keys).map { ($0, logs[$0]!) })
                if run.isActive {
                    let event = EpochEvent(epoch: position.epoch - 1, logs: logs, model: model, isComplete: isComplete)
                    let (current, stoppedBefore) = (position, stopReason)
                    stopReason = try run.agree(phase: "epochDidEnd (epoch \(position.epoch - 1))",
                                               learningRate: { optimizer.learningRate }) { callbacks in
                        try callbacks.epochDidEnd(event, stopReason: stoppedBefore,
                                                  snapshot: { callbackSnapshot(current, callbacks: $0) },
                                                  apply: { try $0.applyLearningRateChange(to: &optimizer) })
                    }
                    if let reason = stopReason, isComplete { try announceStop(reason, position: position, run: &run) }
                }
            }
            if let result {
                position = callbackSnapshot(position, callbacks: run.callbacks)
                try afterStep(result, stoppedAt ?? position)
            }
            if stopReason != nil { break }
        }
        // As Trainer.fit and Keras's fit: with use_ema the model ends holding the averages. The
        // snapshots handed to afterStep keep the training weights, so a resume stays exact.
        if epochs > 0 { try optimizer.finalizeVariableValues(of: &model) }
        model = run.callbacks.trainingDidEnd(model: model)
        if let stopReason { display.note(stopReason) }
        return position.history
    }

    /// Where `fit` starts: the beginning, or `snapshot` (its model and optimizer state taken
    /// over, its recorded data-parallel settings checked); either way recording this trainer's
    /// settings for `rows` training rows (DataParallelTrainer+PositionSettings.swift).
    private mutating func startingPosition(resumingFrom snapshot: TrainingSnapshot?, rows: Int) throws -> TrainingSnapshot {
        guard var snapshot else {
            var start = TrainingSnapshot(model: model, optimizerState: optimizer.state, iteratorState: nil, epoch: 0,
                                         stepInEpoch: 0, globalStep: 0, history: History(), optimizerIdentity: optimizer.identity)
            start.positionSettings = positionSettings(rows: rows)
            return start
        }
        if let trained = snapshot.optimizerIdentity, trained != optimizer.identity {
            throw DataParallelError.invalidArgument(
                argument: "resumingFrom", reason: "holds the state of \(trained), but the trainer's optimizer is \(optimizer.identity)")
        }
        let (saved, current) = (snapshot.model.variables, model.variables)
        guard saved.map(\.name) == current.map(\.name), saved.map(\.value.shape) == current.map(\.value.shape) else {
            throw DataParallelError.invalidArgument(
                argument: "resumingFrom", reason: "holds a model with variables \(saved.map(\.name)), the trainer's has \(current.map(\.name))")
        }
        try checkPositionSettings(of: snapshot, rows: rows)
        snapshot.positionSettings = positionSettings(rows: rows)
        model = snapshot.model
        optimizer.state = snapshot.optimizerState
        return snapshot
    }

    /// Records the finished epoch's mean loss and metrics (and `validation`'s `val_*` logs),
    /// moves the position to the next epoch's start and returns the epoch's logs.
    private static func endEpoch(_ position: inout TrainingSnapshot, metricNames: [String],
                                 validation: [String: Double]) -> [String: Double] {
        var logs = validation
        logs["loss"] = position.runningSums["loss", default: RunningSum()].mean
        for name in metricNames { logs[name] = position.runningSums[name, default: RunningSum()].mean }
        position.history.record(epoch: position.epoch, logs: logs)
        position.epoch += 1
        position.stepInEpoch = 0
        position.runningSums = [:]
        return logs
    }

    /// `position` with the model, the optimizer's state and the resumable `callbacks`' states now.
    func callbackSnapshot(_ position: TrainingSnapshot, callbacks: [any TrainingCallback]) -> TrainingSnapshot {
        var snapshot = position
        snapshot.model = model
        snapshot.optimizerState = optimizer.state
        snapshot.callbackStates = callbacks.resumableStates(optimizer: optimizer)
        return snapshot
    }

    /// Tells every callback, on every rank, where training stopped (`trainingDidStop`), and agrees that none threw.
    private func announceStop(_ reason: String, position: TrainingSnapshot, run: inout CallbackRun) throws {
        let event = StopEvent(epoch: position.epoch, stepInEpoch: position.stepInEpoch, globalStep: position.globalStep, reason: reason)
        _ = try run.agree(phase: "trainingDidStop (epoch \(position.epoch), after step \(position.stepInEpoch))",
                          learningRate: { optimizer.learningRate }) { callbacks in
            try callbacks.trainingDidStop(event) { callbackSnapshot(position, callbacks: $0) }
            return nil
        }
    }
}
