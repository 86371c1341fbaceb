import Datasets
import Tensors

/// Everything needed to continue a `fit` exactly where it stood: the model (weights, moving
/// statistics and Dropout generator states), the optimizer's state, the input pipeline's
/// iterator state, the position (epoch, step) and the history so far, including the running
/// sums of the unfinished epoch, and the states of the callbacks that keep one (``ResumableCallback``).
///
/// A checkpoint file is this value written to disk; `Trainer.fit(..., resumingFrom:)`
/// continues from it and produces bit-for-bit the run that was never interrupted.
///
/// ```swift
/// var saved: TrainingSnapshot?
/// let hook = CheckpointCallback(frequency: .everyEpoch) { saved = $0 }   // (sketch)
/// try trainer.fit(data, epochs: 5, stepsPerEpoch: 313, callbacks: [hook])   // stopped early
/// var resumed = Trainer(model: saved!.model, optimizer: Adam(), loss: .binaryCrossentropy)
/// try resumed.fit(data, epochs: 5, stepsPerEpoch: 313, resumingFrom: saved!)
/// ```
public struct TrainingSnapshot: Sendable {
    /// The model, including moving statistics and Dropout generator states.
    public var model: Sequential
    /// The optimizer's slots and step counter.
    public var optimizerState: OptimizerState
    /// The training iterator's position; `nil` when the next epoch starts a fresh pass.
    public var iteratorState: IteratorState?
    /// The zero-based epoch in progress (or the next one, when `stepInEpoch` is 0).
    public var epoch: Int
    /// Steps already taken in `epoch`.
    public var stepInEpoch: Int
    /// Steps taken since training began.
    public var globalStep: Int
    /// The completed epochs' logs.
    public var history: History
    /// Running (weighted sum, weight) pairs of the unfinished epoch, by log name.
    public var runningSums: [String: RunningSum]
    /// Which optimizer ``optimizerState`` belongs to (kind and the hyper-parameters that change
    /// results); `fit(..., resumingFrom:)` refuses a trainer whose optimizer differs. `nil` (a
    /// snapshot built by hand) is not checked.
    public var optimizerIdentity: OptimizerIdentity?
    /// The states of the ``ResumableCallback``s (``ReduceLROnPlateau``, ``EarlyStopping``) by
    /// stored name; a resumed `fit` hands each back to its callback. Empty in snapshots built by
    /// hand or read from checkpoints written before states were saved: those callbacks start fresh.
    public var callbackStates: [String: CallbackState] = [:]
    /// The settings that decide which rows the position (``epoch``, ``stepInEpoch``) names and
    /// how a step combines them, by name, as text, for a trainer whose position is not a pipeline
    /// state: `DataParallelTrainer` (Distributed) records its global batch size, row count,
    /// reduction mode, micro-shard count and BatchNormalization scope, and refuses to resume a
    /// snapshot that records other values than its own (the same position would then name
    /// other rows, or the steps would sum differently). Empty for `Trainer.fit`, whose
    /// ``iteratorState`` checks its own settings, in snapshots built by hand, and in checkpoints
    /// written before these were recorded: those resume unchecked.
    public var positionSettings: [String: String] = [:]

    /// A snapshot; ``CheckpointCallback`` builds them during `fit`, and code that saves a finished model builds one by hand.
    public init(model: Sequential, optimizerState: OptimizerState, iteratorState: IteratorState?,
                epoch: Int, stepInEpoch: Int, globalStep: Int, history: History,
                runningSums: [String: RunningSum] = [:], optimizerIdentity: OptimizerIdentity? = nil) {
        self.model = model
        self.optimizerState = optimizerState
        self.iteratorState = iteratorState
        self.epoch = epoch
        self.stepInEpoch = stepInEpoch
        self.globalStep = globalStep
        self.history = history
        self.runningSums = runningSums
        self.optimizerIdentity = optimizerIdentity
    }

    /// Whether every variable of the model and every optimizer slot is finite: a snapshot taken
    /// after a NaN step is not one to resume from.
    var holdsOnlyFiniteValues: Bool {
        func finite(_ tensor: Tensor<Float>) -> Bool {
            tensor.withUnsafeBufferPointer { values in values.allSatisfy(\.isFinite) }
        }
        return model.variables.allSatisfy { finite($0.value) } && optimizerState.slots.values.allSatisfy(finite)
    }
}

/// A weighted running mean's numerator and denominator, kept exactly for resumption: a mean
/// alone could not be continued with the same result.
///
/// ```swift
/// var loss = RunningSum()
/// loss.add(0.5, weight: 32); loss.add(0.3, weight: 8)
/// loss.mean                                         // 0.46
/// ```
public struct RunningSum: Sendable, Equatable, Codable {
    /// The weighted sum of the values so far.
    public var total: Double
    /// The total weight so far.
    public var weight: Double
    /// A sum to continue from, as a checkpoint stored it.
    public init(total: Double = 0, weight: Double = 0) {
        self.total = total
        self.weight = weight
    }
    /// Adds `value` counted `weight` times.
    public mutating func add(_ value: Double, weight: Double) {
        total += value * weight
        self.weight += weight
    }
    /// Adds `sum`, already weighted, over `weight` more (e.g. a batch's correct predictions
    /// over its rows): unlike ``add(_:weight:)``, nothing is multiplied, so an exact sum stays exact.
    public mutating func add(sum: Double, weight: Double) {
        total += sum
        self.weight += weight
    }
    /// The weighted mean, 0 before any value.
    public var mean: Double { weight == 0 ? 0 : total / weight }
}
