/// What one data-parallel step did, the same on every rank.
public struct DataParallelStepResult: Equatable, Sendable {
    /// The pass over the data.
    public var epoch: Int
    /// The global batch's index within the pass.
    public var step: Int
    /// Rows in the global batch (fewer than the global batch size in a short last step).
    public var rowCount: Int
    /// The loss's mean over the global batch's rows, from the sums all ranks reduced.
    public var loss: Float
    /// Each metric's sum over the global batch's rows (its value on each micro-shard times the
    /// micro-shard's rows, reduced over the ranks; for an accuracy the correct predictions):
    /// divided by ``rowCount``, the batch's value. Empty for a step without metrics.
    public var metricSums: [String: Double] = [:]

    /// A step's result.
    public init(epoch: Int, step: Int, rowCount: Int, loss: Float, metricSums: [String: Double] = [:]) {
        (self.epoch, self.step, self.rowCount, self.loss, self.metricSums) = (epoch, step, rowCount, loss, metricSums)
    }
}
