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
    mutating func synchronizedStep<Data: RandomAccessDataset>(
        _ data: Data, epoch: Int, step: Int
    ) throws -> DataParallelStepResult where Data.Element == (Tensor<Float>, Tensor<Float>) {
        let (model, loss, layout) = (self.model, self.loss, self.layout)
        var stateUpdate = ModelStateUpdate()
        let values: [Float], rowCount: Int
        (values, rowCount) = try reduceRankMicroShards(data, epoch: epoch, step: step, width: layout.width,
                                                       entersCollectivesAfterReadFailure: true,
                                                       segmentPerRank: mode == .fast) { reducer, segments in
            let result: SegmentedTrainingStep
            do {
                result = try model.trainingStep(segments: segments, loss: loss, mode: .training, batchStatistics: reducer)
            } catch let error as DistributedError {
                throw CollectiveFailure(error: error)
            }
            stateUpdate = result.stateUpdate
            return try zip(segments, result.segments).enumerated().map { index, pair in
                guard let segment = pair.0, let step = pair.1 else { return layout.zeros }
                return try layout.synchronizedSums(of: step, rowCount: segment.x.rowCount, segment: index)
            }
        }
        // Read, not written: the reducer reuses the vector's memory in the next step.
        let meanLoss = values[layout.lossIndex] / Float(rowCount)
        try self.model.apply(stateUpdate)
        try optimizer.apply(layout.gradients(from: values), to: &self.model)
        return DataParallelStepResult(epoch: epoch, step: step, rowCount: rowCount, loss: meanLoss)
    }
}
