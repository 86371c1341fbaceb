import Foundation
import Datasets
import Tensors
import Training

/// Data-parallel training across the ranks of a ``Communicator`` (issue 16, items 2 and 3):
/// every rank holds the same model, reads only its own rows of each global batch, and applies
/// the same reduced gradients, so all ranks hold bitwise-identical weights after every step.
///
/// ```swift
/// import Datasets
/// import Distributed
/// import Tensors
/// import Training
///
/// func train(x: Tensor<Float>, y: Tensor<Float>) throws -> Sequential {
///     let world = try Communicator.world()
///     let model = try Sequential(inputFeatures: 4, [Dense(units: 8, activation: .relu), Dense(units: 3, activation: .softmax)], seed: 1)
///     var trainer = try DataParallelTrainer(model: model, optimizer: SGD(learningRate: 0.1),
///                                           loss: .sparseCategoricalCrossentropy,
///                                           communicator: world, globalBatchSize: 64)
///     try trainer.fit(try Slices(x, y).globalShuffle(seed: 7), epochs: 2)
///     return trainer.model
/// }
/// ```
///
/// **The global batch.** `globalBatchSize` is the batch of one step over all ranks together, as
/// in Keras's distribution strategies. Step `s` of an epoch takes rows `s·B ..< (s+1)·B` of the
/// dataset's order (the last step takes what is left). Those rows are cut into
/// `microShardCount` micro-shards and dealt to the ranks by a ``MicroShardPlan``: rank `r`
/// reads exactly its contiguous block of the batch, through `stackedElements(at:epoch:)` or
/// `element(at:epoch:)`, and no rank reads another's rows. Pass the unsharded global order
/// (e.g. `Slices(x, y).globalShuffle(seed:)`); the trainer does the sharding, because
/// `shard(count:index:)`'s stride over the order would make the micro-shards depend on the
/// number of ranks.
///
/// **Rank-count independent gradients.** Without BatchNormalization, or with ghost batches
/// (below), for each micro-shard with rows the rank runs
/// `Sequential.trainingStep(x:y:loss:mode:reusing:)` on that micro-shard alone and scales its
/// batch-mean gradients, loss and BatchNormalization moving-statistic updates by the
/// micro-shard's row count, turning them into sums. The ``GlobalBatchReducer`` adds the
/// micro-shards' sums; dividing by the global batch's row count gives the global-batch mean,
/// as one process training on the whole batch normalises its loss. In
/// ``ReductionMode/ordered`` the micro-shards are added in micro-shard order whichever rank
/// holds them, so the weights after any number of steps are bitwise the same with 1, 2, 4 ...
/// ranks at the same global batch and micro-shard count. In ``ReductionMode/fast`` each rank
/// runs all its rows as one step (one forward and backward pass, with the synchronized step
/// below; only ghost-batch BatchNormalization keeps the micro-shards) and `MPI_Allreduce` adds
/// the ranks' sums: the last bits depend on the rank count. In ordered mode each micro-shard's
/// step is computed the same way whichever rank holds it, so set
/// `OPENBLAS_NUM_THREADS=1` (as the tests do) for BLAS results that do not depend on the thread count.
///
/// **Synchronized BatchNormalization (the default).** With
/// ``BatchNormStatisticsScope/synchronized``, each rank runs its micro-shards together through
/// `Sequential.trainingStep(segments:loss:mode:batchStatistics:)`: every layer runs per
/// micro-shard, but each BatchNormalization in training mode normalises with the mean and
/// biased variance of the whole global batch (all ranks' rows; for images over N·H·W per
/// channel), reduced through the ``GlobalBatchReducer`` (the global mean first, then the
/// centred sums `Σ(x − mean)²`), and its backward pass uses the global `Σ dy` and `Σ dy·x̂`, as
/// PyTorch's SyncBatchNorm. The step then computes what one process computes on the whole
/// batch (up to the order of additions), the moving statistics follow the global statistics
/// identically on every rank, and in ``ReductionMode/ordered`` everything stays bitwise the
/// same for 1, 2, 4 ... ranks. It costs three small reductions per BatchNormalization layer and
/// step. With ``BatchNormStatisticsScope/ghostBatch`` each micro-shard normalises with its own
/// statistics instead (the "ghost batch" of Hoffer et al.), with no extra communication; that
/// equals one process on the whole batch only with one micro-shard, and the moving statistics
/// are the row-weighted mean of the micro-shards' updates
/// (`momentum·moving + (1 − momentum)·Σₖ nₖ·statₖ / N`). docs/distributed.md compares them.
/// The default and `.ghostBatch` apply to every BatchNormalization layer whatever its Keras
/// `synchronized` flag; with ``BatchNormStatisticsScope/perLayer`` each layer follows its flag
/// (`true`: synchronized, `false`: per micro-shard), and a step mixing both runs the
/// synchronized step, averaging the per-micro-shard layers' moving-statistic updates by rows.
///
/// **Dropout.** Each row's mask is drawn from the layer's generator state at the step's start
/// and the row's index in the global batch: row `i` of a global batch takes draws
/// `i·v ..< (i+1)·v` (`v` values per row), exactly the mask one process drawing for the whole
/// batch gives it, and after the step the generator is where that process's would be. So the
/// masks do not depend on the number of ranks or micro-shards, and ``ReductionMode/ordered``
/// stays bitwise the same for 1, 2, 4 ... ranks. A model with Dropout always takes the
/// segmented step below (`Sequential.trainingStep(segments:loss:mode:batchStatistics:)`).
///
/// **Uneven last step.** A last global batch of fewer rows gets its own plan: every rank still
/// enters the step's collectives, a rank or micro-shard without rows contributes zeros, and
/// the mean is taken over the rows the batch has.
///
/// **Failures.** If reading a rank's rows or its micro-shards' steps throws, that rank still
/// enters the collectives with a malformed contribution, so every rank throws
/// (``DataParallelError``) instead of waiting for it. Each step first checks in one small
/// collective that the ranks agree on the epoch, the step, the dataset's row count and the
/// model's layout, which fix the lengths of the step's collectives; ranks that disagree all
/// throw ``DistributedError/rankDisagreement(operation:rank:quantity:local:minimum:maximum:)``.
/// MPI calls stay on the communicator's thread.
public struct DataParallelTrainer {
    /// The model; identical on every rank after every step.
    public internal(set) var model: Sequential
    /// The optimizer, with its state (moments, step count); identical on every rank.
    public internal(set) var optimizer: any Optimizer
    /// The loss whose global-batch mean is minimised.
    public let loss: Loss
    /// The ranks taking part.
    public let communicator: Communicator
    /// Rows per step over all ranks together.
    public let globalBatchSize: Int
    /// The fixed number of micro-shards each global batch is cut into; choose a multiple of
    /// every rank count you use (8 serves 1, 2, 4 and 8 ranks).
    public let microShardCount: Int
    /// Ordered (rank-count independent, the default) or fast.
    public let mode: ReductionMode
    /// Whether BatchNormalization normalises with the global batch's statistics (the default)
    /// or each micro-shard's, for every layer or as each layer's `synchronized` flag says.
    public let batchNormStatistics: BatchNormStatisticsScope
    /// In ``ReductionMode/fast`` with a rank's rows in one segment: whether each large gradient's
    /// all-reduce starts as soon as its layer's backward pass has written it, while the earlier
    /// layers still run backward (true, the default), or all of them after the backward pass.
    /// Both reduce the gradients where the layers wrote them, with the same collectives in the
    /// same order, so the results are bitwise the same; only the timing differs
    /// (docs/distributed.md, "Stop 18").
    public let overlapsGradientReduction: Bool
    /// How the gradients travel between the ranks, in ``ReductionMode/fast`` with a rank's rows
    /// in one segment and in ``ReductionMode/ordered``'s fold of the micro-shards' gradient sums
    /// (``ReductionTransport/automatic``, the default, takes the window in fast mode and the
    /// collectives in ordered mode; a window falls back to ``ReductionTransport/collectives`` by
    /// itself when the ranks do not share one node; docs/distributed.md, "Stop 19").
    public let transport: ReductionTransport
    /// Why the last `fit` stopped before its last epoch (a callback's `.stop`, agreed by every
    /// rank: DataParallelTrainer+Callbacks.swift), as `Trainer.stopReason`; nil when it did not.
    public internal(set) var stopReason: String?
    /// Whether the gradients travel through a shared-memory window (fast mode's reduction, or
    /// ordered mode's fold of the micro-shards' sums): false until the first step has decided
    /// it (on every rank alike), and whenever the collectives carry them.
    public var usesSharedMemoryWindow: Bool {
        overlappedReduction.window != nil || reducers.values.contains { $0.usesSharedMemoryWindow }
    }

    let layout: ReductionLayout
    /// What every rank must share for the step's collectives to have the same lengths on all
    /// of them: a hash of the model's layers and variables and the trainer's settings, checked
    /// with the step (``Communicator/agree(on:operation:)``) instead of before every collective.
    let settingsFingerprint: Int
    /// Fast mode's reduction of the gradients during the backward pass, with its buffers kept between steps.
    let overlappedReduction: OverlappedGradientReduction
    /// Which BatchNormalization layers the steps synchronize, built once (BatchNormRouting.swift).
    private(set) var batchNormRouting: BatchNormRouting
    /// A reducer per global batch size (the full one and a short last one), keeping their
    /// all-gather memory between steps.
    private var reducers: [Int: GlobalBatchReducer] = [:]

    /// A trainer for `model`, or a ``DataParallelError``: ``DataParallelError/invalidArgument(argument:reason:)``
    /// for a batch size or micro-shard count below 1, ``DataParallelError/unsupportedLayer(layer:reason:)``
    /// for a layer with a random generator other than Dropout (whose masks are drawn per global
    /// row: see "Dropout" above).
    /// - Parameters:
    ///   - model: the starting model, the same on every rank (build it from the same seed).
    ///   - optimizer: its state lives in the trainer from then on.
    ///   - loss: the loss whose global-batch mean each step minimises.
    ///   - communicator: the world the ranks share (a world of one trains alone).
    ///   - globalBatchSize: rows per step over all ranks.
    ///   - microShardCount: micro-shards per global batch (8 by default).
    ///   - mode: ``ReductionMode/ordered`` (default) or ``ReductionMode/fast``.
    ///   - batchNormStatistics: ``BatchNormStatisticsScope/synchronized`` (default) or
    ///     ``BatchNormStatisticsScope/ghostBatch`` for every BatchNormalization layer, or
    ///     ``BatchNormStatisticsScope/perLayer`` to follow each layer's `synchronized` flag.
    ///   - overlapsGradientReduction: in fast mode, start each large gradient's reduction during
    ///     the backward pass (true, the default) or after it; the same results either way.
    ///   - transport: ``ReductionTransport/automatic`` (the default: a shared-memory window in
    ///     fast mode when every rank is on one node, else the collectives),
    ///     ``ReductionTransport/sharedMemory`` (the window in both modes where it can be had) or
    ///     ``ReductionTransport/collectives``; the same bits on 2 ranks in fast mode, and always
    ///     in ordered mode.
    public init(model: Sequential, optimizer: any Optimizer, loss: Loss, communicator: Communicator,
                globalBatchSize: Int, microShardCount: Int = 8, mode: ReductionMode = .ordered,
                batchNormStatistics: BatchNormStatisticsScope = .synchronized, overlapsGradientReduction: Bool = true,
                transport: ReductionTransport = .automatic) throws {
        guard globalBatchSize >= 1 else {
            throw DataParallelError.invalidArgument(argument: "globalBatchSize", reason: "must be at least 1, got \(globalBatchSize)")
        }
        guard microShardCount >= 1 else {
            throw DataParallelError.invalidArgument(argument: "microShardCount", reason: "must be at least 1, got \(microShardCount)")
        }
        if let random = model.layers.first(where: { $0.randomState != nil && !($0 is Dropout) }) {
            throw DataParallelError.unsupportedLayer(
                layer: random.name,
                reason: "it draws random numbers in training mode; every micro-shard would draw the same ones")
        }
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.communicator = communicator
        self.globalBatchSize = globalBatchSize
        self.microShardCount = microShardCount
        self.mode = mode
        self.batchNormStatistics = batchNormStatistics
        self.overlapsGradientReduction = overlapsGradientReduction
        self.transport = transport
        self.layout = ReductionLayout(model: model)
        self.batchNormRouting = BatchNormRouting(model: model, scope: batchNormStatistics)
        self.overlappedReduction = OverlappedGradientReduction(communicator: communicator, layout: layout, model: model,
                                                               overlaps: overlapsGradientReduction, transport: transport)
        self.settingsFingerprint = Self.fingerprint(
            [String(globalBatchSize), String(microShardCount), mode.rawValue, batchNormStatistics.rawValue, transport.rawValue]
                + model.layers.map { "\($0.name):\(type(of: $0))" } + model.variables.map { "\($0.name)\($0.value.shape)" })
    }

    /// FNV-1a of the texts, kept to 62 bits (``Communicator/agree(on:operation:)`` negates it).
    static func fingerprint(_ texts: [String]) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in texts.joined(separator: "\u{1F}").utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(hash >> 2)
    }

    /// The number of steps of one pass over `rowCount` rows: the last may be short.
    public func stepsPerEpoch(rowCount: Int) -> Int {
        (rowCount + globalBatchSize - 1) / globalBatchSize
    }

    /// One step: global batch `step` of pass `epoch` of `data`, with the global sums of
    /// `metrics` (none by default) in the result's ``DataParallelStepResult/metricSums``. Every
    /// rank must call it with the same arguments.
    public mutating func step<Data: RandomAccessDataset>(
        _ data: Data, epoch: Int, step: Int, metrics: [any Metric] = []
    ) throws -> DataParallelStepResult where Data.Element == (Tensor<Float>, Tensor<Float>) {
        try self.step(data, epoch: epoch, step: step, metrics: metrics, agreeing: [])
    }

    /// ``step(_:epoch:step:metrics:)`` with `extraQuantities` in the step's agreement check
    /// (`fit`'s callbacks: DataParallelTrainer+Callbacks.swift).
    mutating func step<Data: RandomAccessDataset>(
        _ data: Data, epoch: Int, step: Int, metrics: [any Metric], agreeing extraQuantities: [(name: String, value: Int)]
    ) throws -> DataParallelStepResult where Data.Element == (Tensor<Float>, Tensor<Float>) {
        // Synchronized BatchNormalization, Dropout and fast mode without ghost batches take the
        // segmented step; the rest (ghost batches alone, or ordered mode without either) one
        // step per micro-shard, as before per-layer flags and Dropout existed (the same bits).
        if !batchNormRouting.matches(model, scope: batchNormStatistics) {
            batchNormRouting = BatchNormRouting(model: model, scope: batchNormStatistics)
        }
        let routing = batchNormRouting
        if routing.drawsRandomNumbers || !routing.synchronized.isEmpty || (routing.perMicroShard.isEmpty && mode == .fast) {
            return try synchronizedStep(data, epoch: epoch, step: step, routing: routing, metrics: metrics,
                                        agreeing: extraQuantities)
        }
        let (model, loss, layout) = (self.model, self.loss, self.layout)
        // Each micro-shard's metric sums, in the rank's micro-shard order (zeros without rows).
        var metricPartials: [[Double]] = []
        let (totals, rowCount) = try reduceRankMicroShards(data, epoch: epoch, step: step, width: layout.width, forGradients: true,
                                                           entersCollectivesAfterReadFailure: false, segmentPerRank: false,
                                                           agreeing: Self.metricAgreement(metrics) + extraQuantities) { _, segments in
            try segments.map { segment in
                guard let (x, y) = segment else {
                    metricPartials.append([Double](repeating: 0, count: metrics.count))
                    return layout.zeros
                }
                let step = try model.trainingStep(x: x, y: y, loss: loss, mode: .training)
                metricPartials.append(try Self.metricSums(metrics, predictions: step.predictions, targets: y))
                return try layout.sums(of: step, rowCount: x.rowCount, model: model)
            }
        }
        let means = totals.map { $0 / Float(rowCount) }
        try self.model.apply(layout.stateUpdate(from: means, model: model))
        try optimizer.apply(layout.gradients(from: means), to: &self.model)
        return DataParallelStepResult(epoch: epoch, step: step, rowCount: rowCount, loss: means[layout.lossIndex],
                                      metricSums: try reduceMetricSums(metricPartials, metrics: metrics, rowCount: rowCount))
    }

    /// The reducer for global batches of `rowCount` rows. Only the gradients' reductions
    /// (`forGradients`) open its shared-memory window (megabytes in /dev/shm per rank):
    /// evaluation, validation and recalibration reduce a few values, and a row count only they
    /// use (a short last validation batch) must not cost one; they reuse a reducer with a
    /// window (the same bits, ``GlobalBatchReducer/useSharedMemoryWindow(width:)``).
    mutating func reducer(rowCount: Int, forGradients: Bool = false) throws -> GlobalBatchReducer {
        let opensWindow = forGradients && transport.usesWindow(in: mode)
        if let existing = reducers[rowCount], !opensWindow || existing.windowAttempted { return existing }
        var reducer: GlobalBatchReducer
        if let existing = reducers[rowCount] {
            reducer = existing
        } else {
            let plan = try MicroShardPlan(globalBatchSize: rowCount, microShardCount: microShardCount, rankCount: communicator.size)
            reducer = try GlobalBatchReducer(communicator: communicator, plan: plan, mode: mode)
            // reduceRankMicroShards agrees on the step's widths before its first collective.
            reducer.widthsAgreedByCaller = true
        }
        // A collective, at the same point of the same step on every rank (every rank's reducers
        // evolve alike); tried once per reducer, a refusal (false on every rank) too.
        if opensWindow { try reducer.useSharedMemoryWindow(width: layout.width) }
        reducers[rowCount] = reducer
        return reducer
    }

    /// The global batch row counts whose reducer folds through a shared-memory window.
    package var rowCountsWithSharedMemoryWindow: Set<Int> {
        Set(reducers.filter { $0.value.usesSharedMemoryWindow }.keys)
    }
}
