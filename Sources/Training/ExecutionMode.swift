/// Whether a forward pass trains or infers. Every forward call takes it explicitly.
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
