/// Which statistics a ``BatchNormalization`` layer normalizes with; with `.followMode` the
/// call's ``ExecutionMode`` decides (<doc:TrainingVersusInference> tabulates every combination).
///
/// ```swift
/// let batchStats = model.withBatchNormStatistics(.batch)   // "batch-statistics inference"
/// let p = try batchStats(shiftedTestSet, mode: .inference)
/// ```
public enum BatchNormStatistics: String, Sendable, Hashable, CaseIterable {
    /// Keras behaviour: batch statistics in training mode (updating the moving ones),
    /// moving statistics in inference mode or when the layer is frozen.
    case followMode
    /// Always the batch's own mean and biased variance; moving statistics are never updated.
    case batch
    /// Always the moving statistics, even in training mode; they are never updated.
    case moving
}
