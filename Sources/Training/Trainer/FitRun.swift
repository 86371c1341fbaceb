import Datasets
import Tensors

/// The mutable bookkeeping of one `fit` call: where the pipeline stands, which epoch and
/// step it is, the running sums of the unfinished epoch and the history so far. Kept apart
/// from ``Trainer`` so that a snapshot of it is exactly what a resume needs.
struct FitRun<Train: Dataset> where Train.Element == Trainer.Batch {
    let data: Train
    /// With steps per epoch one iterator spans every epoch; otherwise one per epoch.
    let continuous: Bool
    private var iterator: Train.Iterator?
    var epoch = 0
    var stepInEpoch = 0
    var globalStep = 0
    var history = History()
    private var sums: [String: RunningSum] = [:]

    init(trainer: Trainer, data: Train, stepsPerEpoch: Int?, snapshot: TrainingSnapshot?) throws {
        self.data = data
        self.continuous = stepsPerEpoch != nil
        guard let snapshot else { return }
        guard snapshot.model.variables.map(\.name) == trainer.model.variables.map(\.name) else {
            throw TrainingError.incompatibleSnapshot(
                "the snapshot's model has variables \(snapshot.model.variables.map(\.name)), "
                + "the trainer's has \(trainer.model.variables.map(\.name))")
        }
        if let saved = snapshot.optimizerIdentity, saved != trainer.optimizer.identity {
            throw TrainingError.optimizerMismatch(saved: saved, given: trainer.optimizer.identity)
        }
        epoch = snapshot.epoch
        stepInEpoch = snapshot.stepInEpoch
        globalStep = snapshot.globalStep
        history = snapshot.history
        history.truncate(toEpochsBefore: snapshot.epoch)
        sums = snapshot.runningSums
        if let state = snapshot.iteratorState {
            iterator = try data.makeIterator(resumingFrom: state)
        } else if continuous && globalStep > 0 {
            throw TrainingError.incompatibleSnapshot("the snapshot has no pipeline state to continue from")
        }
    }

    mutating func nextBatch() throws -> Trainer.Batch? {
        if iterator == nil { iterator = data.makeIterator(epoch: continuous ? 0 : UInt64(epoch)) }
        return try iterator!.next()
    }

    mutating func record(loss: Float, predictions: Tensor<Float>, targets: Tensor<Float>,
                         metrics: [any Metric]) throws {
        let weight = Double(targets.rowCount)
        sums["loss", default: RunningSum()].add(Double(loss), weight: weight)
        for template in metrics {
            var metric = template
            metric.reset()
            try metric.update(predictions: predictions, targets: targets)
            sums[metric.name, default: RunningSum()].add(metric.result, weight: weight)
        }
    }

    func runningLogs(_ metrics: [any Metric]) -> [(String, Double)] {
        [("loss", sums["loss"]?.mean ?? 0)] + metrics.map { ($0.name, sums[$0.name]?.mean ?? 0) }
    }

    func epochLogs(_ metrics: [any Metric]) -> [String: Double] {
        Dictionary(uniqueKeysWithValues: runningLogs(metrics))
    }

    mutating func finishEpoch(logs: [String: Double]) {
        history.record(epoch: epoch, logs: logs)
        epoch += 1
        stepInEpoch = 0
        sums = [:]
        if !continuous { iterator = nil }
    }

    /// The position now, with the states of `callbacks` (``ResumableCallback``).
    func snapshot(of trainer: Trainer, callbacks: [any TrainingCallback]) -> TrainingSnapshot {
        var snapshot = TrainingSnapshot(model: trainer.model, optimizerState: trainer.optimizer.state,
                                        iteratorState: iterator?.state, epoch: epoch, stepInEpoch: stepInEpoch,
                                        globalStep: globalStep, history: history, runningSums: sums,
                                        optimizerIdentity: trainer.optimizer.identity)
        snapshot.callbackStates = callbacks.resumableStates(optimizer: trainer.optimizer)
        return snapshot
    }
}
