import Training

/// An optimizer's kind, hyper-parameters and options (learning rate or schedule, weight decay,
/// clipping, accumulation, EMA) — what a checkpoint needs, besides the
/// ``/Training/OptimizerState``, to rebuild the optimizer in another process. It holds a fresh
/// (stateless) copy of any ``/Training/KerasOptimizer``, which describes itself; nothing here
/// knows a concrete optimizer type.
///
/// ```swift
/// let config = try OptimizerConfig(Adam(learningRate: 1e-3))
/// var optimizer = config.makeOptimizer(state: snapshot.optimizerState)   // an Adam, restored
/// ```
public struct OptimizerConfig: Sendable, Equatable {
    /// The optimizer with its settings and an empty state.
    public let prototype: any KerasOptimizer

    /// The configuration of `optimizer` (its state is not part of it).
    /// - Throws: ``CheckpointError/unsupported(file:what:)`` for an optimizer that does not
    ///   describe itself (does not conform to ``/Training/KerasOptimizer``).
    public init(_ optimizer: any Optimizer) throws {
        guard var described = optimizer as? any KerasOptimizer else {
            throw CheckpointError.unsupported(file: "", what: "optimizer \(type(of: optimizer)) cannot be checkpointed")
        }
        described.core = OptimizerCore()
        prototype = described
    }

    private init(described: any KerasOptimizer) {
        prototype = described
    }

    /// Stochastic gradient descent, with optional (Nesterov) momentum.
    public static func sgd(learningRate: Float, momentum: Double, nesterov: Bool) -> OptimizerConfig {
        OptimizerConfig(described: SGD(learningRate: learningRate, momentum: momentum, nesterov: nesterov))
    }

    /// Adam with a constant learning rate.
    public static func adam(learningRate: Float, beta1: Double, beta2: Double, epsilon: Double) -> OptimizerConfig {
        OptimizerConfig(described: Adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon))
    }

    /// Keras's lower-case name, stored in checkpoints (`"sgd"`, `"adam"`, `"rmsprop"`).
    public var kind: String { type(of: prototype).kerasName }

    /// The learning rate or schedule.
    public var learningRate: LearningRate { prototype.options.learningRate }

    /// A fresh optimizer of this configuration carrying `state`.
    public func makeOptimizer(state: OptimizerState = OptimizerState()) -> any Optimizer {
        var optimizer = prototype
        optimizer.state = state
        return optimizer
    }

    /// The kind and result-changing hyper-parameters, as the optimizer it makes reports them
    /// (``/Training/Optimizer/identity``): what a resume must match.
    public var identity: OptimizerIdentity { prototype.identity }

    /// The same configuration with another (constant) learning rate.
    public func withLearningRate(_ learningRate: Float) -> OptimizerConfig {
        var optimizer = prototype
        optimizer.options.learningRate = .constant(learningRate)
        return OptimizerConfig(described: optimizer)
    }

    /// Equal kind, hyper-parameters, options and learning rate (or schedule).
    public static func == (lhs: OptimizerConfig, rhs: OptimizerConfig) -> Bool {
        lhs.identity == rhs.identity && lhs.learningRate == rhs.learningRate && lhs.prototype.options == rhs.prototype.options
    }
}
