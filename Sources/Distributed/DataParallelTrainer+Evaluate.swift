import Datasets
import Tensors
import Training

extension DataParallelTrainer {
    /// The loss and `metrics` over every row of pass `epoch` of `data` in inference mode, as
    /// exact global means: each rank reads only its rows of each global batch, each micro-shard's
    /// mean is multiplied by its row count, and the sums are reduced (in `Double`) and divided by
    /// the total row count — not a mean of per-rank means. The same values on every rank; in
    /// ``ReductionMode/ordered`` bitwise the same for any number of ranks.
    ///
    /// A metric must be a mean over rows (the accuracies are): it is reset, updated with one
    /// micro-shard and its `result` weighted by the micro-shard's rows.
    /// - Returns: `"loss"` and each metric's `name`.
    public mutating func evaluate<Data: RandomAccessDataset>(
        _ data: Data, metrics: [any Metric] = [], epoch: Int = 0
    ) throws -> [String: Double] where Data.Element == (Tensor<Float>, Tensor<Float>) {
        try evaluate(data, metrics: metrics, epoch: epoch, steps: nil)
    }

    /// ``evaluate(_:metrics:epoch:)`` over the first `steps` global batches only (all with `nil`):
    /// rows `0 ..< min(count, steps·globalBatchSize)` (`fit`'s `validationSteps`).
    mutating func evaluate<Data: RandomAccessDataset>(
        _ data: Data, metrics: [any Metric], epoch: Int, steps: Int?
    ) throws -> [String: Double] where Data.Element == (Tensor<Float>, Tensor<Float>) {
        let (model, loss) = (self.model, self.loss)
        let width = 1 + metrics.count
        var totals = [Double](repeating: 0, count: width)
        let stepCount = min(stepsPerEpoch(rowCount: data.count), steps ?? .max)
        for step in 0..<stepCount {
            let (sums, _) = try reduceMicroShards(data, epoch: epoch, step: step, width: width) { x, y -> [Double] in
                let rows = Double(x.rowCount)
                let pass = try model.loss(x: x, y: y, loss: loss, mode: .inference)
                return try [Double(pass.loss) * rows] + Self.metricSums(metrics, predictions: pass.predictions, targets: y)
            }
            for index in 0..<width { totals[index] += sums[index] }
        }
        let count = Double(max(min(data.count, stepCount * globalBatchSize), 1))
        var results = ["loss": totals[0] / count]
        for (index, metric) in metrics.enumerated() { results[metric.name] = totals[index + 1] / count }
        return results
    }
}
