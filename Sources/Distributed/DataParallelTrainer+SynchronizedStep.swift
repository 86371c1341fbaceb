import Datasets
import Tensors
import Training

extension DataParallelTrainer {
    /// One step with synchronized BatchNormalization (``BatchNormStatisticsScope/synchronized``),
    /// and every ``ReductionMode/fast`` step of a model without BatchNormalization:
    /// this rank's micro-shards (in fast mode: all its rows as one segment, one forward and
    /// backward pass with larger matrix products) run together through `Sequential.trainingStep(segments:loss:mode:batchStatistics:)`
    /// with the step's ``GlobalBatchReducer``, whose collectives every rank enters (a rank
    /// without rows, or one that could not read them, with zeros). Each micro-shard's
    /// gradients are already its share of the global-batch mean, so the reduced sums are the
    /// gradients; the moving statistics come from the global statistics, the same on every rank.
    ///
    /// BatchNormalization layers that `routing` puts per micro-shard normalise each micro-shard
    /// alone (then a rank's rows stay cut into micro-shards in fast mode too); their moving
    /// statistics are the row-weighted mean of the micro-shards' updates, reduced with the gradients.
    mutating func synchronizedStep<Data: RandomAccessDataset>(
        _ data: Data, epoch: Int, step: Int, routing: BatchNormRouting, metrics: [any Metric],
        agreeing extraQuantities: [(name: String, value: Int)] = []
    ) throws -> DataParallelStepResult where Data.Element == (Tensor<Float>, Tensor<Float>) {
        let (model, loss, layout) = (self.model, self.loss, self.layout)
        let segmentPerRank = mode == .fast && routing.perMicroShard.isEmpty
        let rank = communicator.rank
        var stateUpdate = ModelStateUpdate()
        // Fast mode with a rank's rows in one segment reduces the gradients while the backward
        // pass runs, where the layers wrote them (OverlappedGradientReduction).
        let overlapped = segmentPerRank ? overlappedReduction : nil
        // Each segment's metric sums from the predictions of its forward pass (zeros without rows).
        var metricPartials: [[Double]] = []
        let values: [Float], rowCount: Int
        (values, rowCount) = try reduceRankMicroShards(data, epoch: epoch, step: step, width: layout.width, forGradients: true,
                                                       entersCollectivesAfterReadFailure: true,
                                                       segmentPerRank: segmentPerRank, overlapped: overlapped,
                                                       agreeing: Self.metricAgreement(metrics) + extraQuantities) { reducer, segments in
            let plan = reducer.plan
            let starts = segmentPerRank ? [plan.rows(ofRank: rank).lowerBound]
                : plan.microShards(ofRank: rank).map { plan.rows(ofMicroShard: $0).lowerBound }
            let statistics = DataParallelBatchStatistics(reducer: reducer, routing: routing,
                                                         segmentStarts: starts, overlapped: overlapped)
            overlapped?.expectsGradients = segments.first.map { $0 != nil } ?? false
            let result: SegmentedTrainingStep
            do {
                result = try model.trainingStep(segments: segments, loss: loss, mode: .training, batchStatistics: statistics)
            } catch let error as DistributedError {
                throw CollectiveFailure(error: error)
            }
            stateUpdate = result.stateUpdate
            if !metrics.isEmpty {
                metricPartials = try zip(segments, result.segments).map { segment, step in
                    guard let segment, let step else { return [Double](repeating: 0, count: metrics.count) }
                    return try Self.metricSums(metrics, predictions: step.predictions, targets: segment.y)
                }
            }
            if overlapped != nil {
                if let segment = segments[0], let step = result.segments[0] {
                    overlapped?.localLossSum = step.loss * Float(segment.x.rowCount)
                }
                return []
            }
            return try zip(segments, result.segments).enumerated().map { index, pair in
                guard let segment = pair.0, let step = pair.1 else { return layout.zeros }
                return try layout.synchronizedSums(of: step, rowCount: segment.x.rowCount, segment: index,
                                                   perMicroShardStatistics: routing.perMicroShardUpdating)
            }
        }
        if let overlapped {
            let (gradients, totalLoss) = overlapped.takeResult()
            try self.model.apply(stateUpdate)
            try optimizer.apply(gradients, to: &self.model)
            overlapped.recycle(consume gradients)
            return DataParallelStepResult(epoch: epoch, step: step, rowCount: rowCount, loss: totalLoss / Float(rowCount),
                                          metricSums: try reduceMetricSums(metricPartials, metrics: metrics, rowCount: rowCount))
        }
        // Read, not written: the reducer reuses the vector's memory in the next step.
        let meanLoss = values[layout.lossIndex] / Float(rowCount)
        if !routing.perMicroShardUpdating.isEmpty {
            let means = values.map { $0 / Float(rowCount) }
            stateUpdate.layers.merge(try layout.stateUpdate(from: means, layers: routing.perMicroShardUpdating).layers) { $1 }
        }
        try self.model.apply(stateUpdate)
        try optimizer.apply(layout.gradients(from: values), to: &self.model)
        return DataParallelStepResult(epoch: epoch, step: step, rowCount: rowCount, loss: meanLoss,
                                      metricSums: try reduceMetricSums(metricPartials, metrics: metrics, rowCount: rowCount))
    }
}
