import Foundation
import Checkpoints
import Datasets
import HDF5
import Training

extension TrainJob {
    /// What a job trains, resolved as ``run(progress:)`` resolves it, for a trainer other than
    /// ``/Training/Trainer`` (the data-parallel trainer of the Distributed module, which the
    /// workflows do not depend on): the starting model and optimizer, the loss, the snapshot a
    /// resume continues, the training rows with their order and the validation rows.
    ///
    /// ```swift
    /// let prepared = try job.prepared()
    /// var optimizer = prepared.optimizer.makeOptimizer(state: prepared.optimizerState)
    /// let rows = prepared.shuffleSeed.map { prepared.rows.globalShuffle(seed: $0) }
    /// ```
    public struct Prepared: Sendable {
        /// The model to train (built, loaded or resumed).
        public var model: Sequential
        /// The optimizer's configuration (fresh, the model file's or the checkpoint's).
        public var optimizer: OptimizerConfig
        /// The optimizer state training continues from.
        public var optimizerState: OptimizerState
        /// The loss.
        public var loss: Loss
        /// The snapshot a resumed checkpoint holds, or nil for a new run.
        public var snapshot: TrainingSnapshot?
        /// The training rows in file order, values checked as they are read: all rows, or the
        /// first ones of a ``TrainJob/validationSplit``.
        public var rows: TrainingRows
        /// The rows ``TrainJob/validationSplit`` holds out (the last ones, as a single-process
        /// run holds them out: ``TrainingData/splitPoint(validationSplit:)``), in file order;
        /// nil without a split.
        public var validationRows: TrainingRows?
        /// The seed of the rows' `globalShuffle(seed:)`, or nil to keep the file order.
        public var shuffleSeed: UInt64?
        /// The model's Keras architecture JSON, written into checkpoints (nil if it has none).
        public var architecture: String?
        /// The job's callbacks (early stopping, learning-rate reduction, CSV log), checked
        /// against the logs the run records and a resumed checkpoint's settings.
        public var callbacks: [any TrainingCallback] = []
    }

    /// Resolves the job for a trainer that cuts batches from random-access rows itself: the
    /// model, optimizer and loss as ``run(progress:)`` would use them, and the data checked
    /// against them and split into training and validation rows as ``run(progress:)`` splits
    /// them. Such a trainer shuffles globally or not at all, so a ``shuffleBuffer`` above 0 is a
    /// ``WorkflowError/invalidSetting(file:setting:problem:)``; so is an ``epochs`` below 0 or a
    /// ``validationSplit`` outside `[0, 1)`.
    public func prepared() throws -> Prepared {
        try checkDataParallelSettings()
        var start = try startingPoint()
        let loss = try resolvedLoss(start)
        let optimizer = try resolvedOptimizer(&start)
        var data = try TrainingData(files: [data] + moreData, x: x, y: y,
                                    sparseTargets: loss.kind == .sparseCategoricalCrossentropy)
        try data.validate(for: start.model, loss: loss)
        let (rows, validationRows) = try data.trainingRows(validationSplit: validationSplit)
        try requireDataParallelPosition(start.snapshot, data: data)
        return Prepared(model: start.model, optimizer: optimizer, optimizerState: start.optimizerState, loss: loss,
                        snapshot: start.snapshot, rows: rows, validationRows: validationRows,
                        shuffleSeed: shuffleBuffer == 0 ? nil : seed, architecture: try? KerasModelConfig.json(for: start.model),
                        callbacks: try trainingCallbacks(model: start.model, loss: loss, optimizer: optimizer,
                                                                     resuming: start.snapshot))
    }

    /// The settings checks of ``prepared()`` that read no file, so that a launcher can refuse a
    /// job before starting its processes.
    public func checkDataParallelSettings() throws {
        try checkOutput()
        try checkCallbackSettings()
        if let shuffleBuffer, shuffleBuffer > 0 {
            throw WorkflowError.invalidSetting(
                file: nil, setting: .shuffleBuffer,
                problem: "data-parallel training shuffles all rows or none; a buffered shuffle of \(shuffleBuffer) rows is not supported")
        }
        try TrainingData.checkValidationSplit(validationSplit)
        guard batchSize > 0 else {
            throw WorkflowError.invalidSetting(file: nil, setting: .batchSize, problem: "batch size must be positive, got \(batchSize)")
        }
        guard epochs >= 0 else {
            throw WorkflowError.invalidSetting(file: nil, setting: .epochs, problem: "epochs must be at least 0, got \(epochs)")
        }
    }

    /// Refuses, for a single-process run, a snapshot taken inside an epoch without a pipeline
    /// state: data-parallel training records its position as epoch and step only, which a
    /// streaming pipeline cannot continue from, so the epoch would silently start over.
    func requirePipelinePosition(_ snapshot: TrainingSnapshot?) throws {
        guard let snapshot, snapshot.iteratorState == nil, snapshot.stepInEpoch > 0 else { return }
        throw WorkflowError.invalidSetting(
            file: resume?.path, setting: .resume,
            problem: "the checkpoint was written by data-parallel training in epoch \(snapshot.epoch), step "
                + "\(snapshot.stepInEpoch), and holds no pipeline state; resume it data-parallel (under mpirun, on any number of ranks)")
    }

    /// Writes the trained `model` to ``output`` in the format its extension names, as
    /// ``run(progress:)`` does: `.keras` / `.weights.h5` with `optimizer`'s state, `.h5` as a
    /// native checkpoint of `final` (the last end-of-epoch snapshot, or the resumed one).
    public func save(_ model: Sequential, optimizer: any Optimizer, final: TrainingSnapshot?, prepared: Prepared) throws {
        var final = final
        // Restored best weights are what the run ends with, as in a single-process run.
        if earlyStopping?.restoreBestWeights == true { final?.model = model }
        try saveResult(model: model, optimizer: optimizer, final: final, config: prepared.optimizer, loss: prepared.loss)
    }

    /// Writes `snapshot` atomically to ``checkpoint`` (when set) with ``checkpointDurability``.
    public func saveCheckpoint(_ snapshot: TrainingSnapshot, prepared: Prepared) throws {
        guard let checkpoint else { return }
        try NativeCheckpoint.save(snapshot, optimizer: prepared.optimizer, to: checkpoint, loss: prepared.loss,
                                  architecture: prepared.architecture, durability: checkpointDurability)
    }
}
