import Tensors

/// An optimizer's complete state, for checkpoints: the step counter and every slot tensor,
/// keyed `"<variable>/<slot>"` (`"dense/kernel/momentum"`, `"dense/kernel/velocity"`).
///
/// ```swift
/// let saved = adam.state
/// var resumed = Adam()
/// resumed.state = saved          // applied to the model's variables at the next step
/// ```
public struct OptimizerState: Sendable, Equatable {
    /// Completed steps (Keras `optimizer.iterations`, an int64).
    public var iterations: Int64
    /// Slot tensors by `"<variable>/<slot>"`.
    public var slots: [String: Tensor<Float>]

    /// A state to restore with ``Optimizer/state``; usually from a checkpoint rather than built by hand.
    public init(iterations: Int64 = 0, slots: [String: Tensor<Float>] = [:]) {
        self.iterations = iterations
        self.slots = slots
    }
}
