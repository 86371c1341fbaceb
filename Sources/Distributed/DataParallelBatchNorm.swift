import Training

/// Which batch statistics BatchNormalization layers normalise with when a
/// ``DataParallelTrainer`` trains: the whole global batch's or each micro-shard's, for every
/// layer (`synchronized`, `ghostBatch`: the trainer's choice overrides the layers' own
/// `synchronized` flags) or as each layer's Keras `synchronized` flag says (`perLayer`).
/// docs/distributed.md ("Synchronized BatchNormalization") compares their results and costs.
public enum BatchNormStatisticsScope: String, Sendable, CaseIterable {
    /// Synchronized BatchNormalization for every layer, whatever its `synchronized` flag (the
    /// default): every micro-shard is normalised with the
    /// mean and variance of the whole global batch over all ranks, forward and backward, as one
    /// process training on the whole batch does. Costs three small reductions per
    /// BatchNormalization layer and step (the mean, the centred sums, and in backward `Σ dy`
    /// and `Σ dy·x̂`), each waiting for every rank.
    case synchronized
    /// Ghost batches for every layer, whatever its `synchronized` flag: each micro-shard is
    /// normalised with its own statistics (Hoffer et al.),
    /// and the moving statistics are the row-weighted mean of the micro-shards' updates. No
    /// extra communication, but the result equals one process's only with one micro-shard.
    case ghostBatch
    /// Each layer as its `synchronized` flag says, as Keras does under a distribution strategy:
    /// a layer with `synchronized: true` is synchronized, one with `false` (Keras's default)
    /// uses ghost-batch statistics. Keras's per-replica statistics become per-micro-shard ones,
    /// so that the result does not depend on the number of ranks (in ``ReductionMode/ordered``,
    /// bitwise); in ``ReductionMode/fast`` the statistics are per micro-shard too, not per rank.
    case perLayer

    /// Whether `layer` normalises with the global batch's statistics under this scope.
    func synchronizes(_ layer: BatchNormalization) -> Bool {
        switch self {
        case .synchronized: true
        case .ghostBatch: false
        case .perLayer: layer.synchronized
        }
    }
}

/// The ``GlobalBatchReducer`` as the hook through which synchronized BatchNormalization layers
/// add their micro-shards' sums over all ranks
/// (`Sequential.trainingStep(segments:loss:mode:batchStatistics:)`): the segments are this
/// rank's micro-shards, in order (in ``ReductionMode/fast``: any partition of its rows, such
/// as one segment holding all of them).
extension GlobalBatchReducer: BatchStatisticsReducer {
    /// The global batch's rows (``MicroShardPlan/globalBatchSize``).
    public var globalExampleCount: Int { plan.globalBatchSize }

    /// ``sum(microShardSums:width:)`` of `Float` sums; in ``ReductionMode/fast`` the segments
    /// may be any partition of this rank's rows.
    public func sum(segmentSums: [[Float]], width: Int) throws -> [Float] {
        try sum(rankPartials: segmentSums, width: width)
    }

    /// In ``ReductionMode/fast``: synchronized BatchNormalization's forward statistics in one
    /// round (``mergeMoments(_:width:)``, GlobalBatchReducer+Moments.swift) instead of two;
    /// ordered mode keeps the two rounds, whose additions in micro-shard order make it bitwise
    /// independent of the rank count.
    public var mergesMomentsInOneRound: Bool { mode == .fast }
}

/// A step's ``GlobalBatchReducer`` as `Sequential.trainingStep(segments:loss:mode:batchStatistics:)`
/// sees it in ``DataParallelTrainer``: which BatchNormalization layers it synchronizes, and
/// where each of this rank's segments (its micro-shards, or in ``ReductionMode/fast`` possibly
/// all its rows) starts in the global batch, so that Dropout draws every row's mask from the
/// row's global index.
struct DataParallelBatchStatistics: BatchStatisticsReducer {
    let reducer: GlobalBatchReducer
    /// The trainer's routing, looked up by layer index (no names hashed per step).
    let routing: BatchNormRouting
    let segmentStarts: [Int]
    /// Fast mode's reduction of the gradients during the backward pass (one segment per rank), if any.
    var overlapped: OverlappedGradientReduction?

    var globalExampleCount: Int { reducer.globalExampleCount }

    func sum(segmentSums: [[Float]], width: Int) throws -> [Float] {
        try reducer.sum(segmentSums: segmentSums, width: width)
    }

    var mergesMomentsInOneRound: Bool { reducer.mergesMomentsInOneRound }

    func mergeMoments(_ segments: [SegmentMoments], width: Int) throws -> (mean: [Float], centredSquares: [Float]) {
        try reducer.mergeMoments(segments, width: width)
    }

    func synchronizesBatchStatistics(ofLayer layer: String) -> Bool { routing.synchronized.contains(layer) }

    func synchronizesBatchStatistics(ofLayerAt index: Int, named layer: String) -> Bool {
        routing.synchronizes(layerAt: index, named: layer)
    }

    func firstGlobalExample(ofSegment segment: Int) -> Int? {
        segmentStarts.indices.contains(segment) ? segmentStarts[segment] : nil
    }

    func backwardPassFinished(layer index: Int, named layerName: String, gradients: inout [LayerGradients]) throws {
        guard let overlapped else { return }
        precondition(gradients.count == 1, "the overlapped reduction takes one segment per rank")
        try overlapped.layerFinished(at: index, named: layerName, gradients: &gradients[0])
    }
}
