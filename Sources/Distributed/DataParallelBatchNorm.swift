import Training

/// Which batch statistics BatchNormalization layers normalise with when a
/// ``DataParallelTrainer`` trains: the whole global batch's or each micro-shard's.
/// docs/distributed.md ("BatchNormalization") compares their results and costs.
public enum BatchNormStatisticsScope: String, Sendable, CaseIterable {
    /// Synchronized BatchNormalization (the default): every micro-shard is normalised with the
    /// mean and variance of the whole global batch over all ranks, forward and backward, as one
    /// process training on the whole batch does. Costs three small reductions per
    /// BatchNormalization layer and step (the mean, the centred sums, and in backward `Σ dy`
    /// and `Σ dy·x̂`), each waiting for every rank.
    case synchronized
    /// Ghost batches: each micro-shard is normalised with its own statistics (Hoffer et al.),
    /// and the moving statistics are the row-weighted mean of the micro-shards' updates. No
    /// extra communication, but the result equals one process's only with one micro-shard.
    case ghostBatch
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
}
