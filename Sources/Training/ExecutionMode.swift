/// Whether a forward pass trains or infers. Every forward call takes it explicitly.
///
/// Which statistics BatchNormalization uses in each mode is a separate choice stored in the
/// model, ``BatchNormStatistics``; <doc:TrainingVersusInference> shows how the two combine.
///
/// ```swift
/// let p = try model(x, mode: .inference)   // BN uses moving statistics, Dropout is identity
/// ```
public enum ExecutionMode: Sendable, Hashable {
    /// Dropout drops, BatchNormalization (following the mode) uses batch statistics and
    /// — in the stateful path — updates its moving statistics.
    case training
    /// Dropout is the identity, BatchNormalization (following the mode) uses moving statistics.
    case inference
}
