import Datasets
import Tensors
import Training

/// Training metrics (Keras's `"accuracy"` and the like) of a data-parallel step, as exact global
/// values: each micro-shard's metric is taken from the predictions its training step computed
/// anyway (no extra forward pass) and multiplied by its rows, and those sums are reduced over
/// the global batch like the loss, so an epoch's value is Σ sums / Σ rows over the whole epoch,
/// not a mean of per-rank or per-step means.
extension DataParallelTrainer {
    /// Each metric's sum over the rows of one segment: its value on them times their count
    /// (a metric must be a mean over rows, as the accuracies are).
    static func metricSums(_ metrics: [any Metric], predictions: Tensor<Float>, targets: Tensor<Float>) throws -> [Double] {
        let rows = Double(targets.rowCount)
        return try metrics.map { template in
            var metric = template
            metric.reset()
            try metric.update(predictions: predictions, targets: targets)
            return metric.result * rows
        }
    }

    /// What every rank must agree on for the metrics' reduction to have the same length on all
    /// of them: the count and names of the metrics, checked in the step's one agreement.
    static func metricAgreement(_ metrics: [any Metric]) -> [(name: String, value: Int)] {
        metrics.isEmpty ? [] : [("training metrics", fingerprint(metrics.map(\.name)))]
    }

    /// The global sums of the step's metrics, from this rank's per-segment sums (one vector per
    /// micro-shard in ``ReductionMode/ordered``, added in micro-shard order whichever rank holds
    /// it, so the sums are bitwise the same for any number of ranks; any number in
    /// ``ReductionMode/fast``, all-reduced). One small collective, entered by every rank after
    /// the step's reductions succeeded on all of them; none without metrics.
    mutating func reduceMetricSums(_ partials: [[Double]], metrics: [any Metric], rowCount: Int) throws -> [String: Double] {
        guard !metrics.isEmpty else { return [:] }
        let sums = try reducer(rowCount: rowCount).sum(rankPartials: partials, width: metrics.count)
        return Dictionary(zip(metrics.map(\.name), sums)) { first, _ in first }
    }

    /// Adds a step's metric sums to the epoch's running sums (sum and rows, kept exactly for a resume).
    static func accumulate(_ result: DataParallelStepResult, into sums: inout [String: RunningSum]) {
        sums["loss", default: RunningSum()].add(Double(result.loss), weight: Double(result.rowCount))
        for (name, sum) in result.metricSums {
            sums[name, default: RunningSum()].add(sum: sum, weight: Double(result.rowCount))
        }
    }
}
