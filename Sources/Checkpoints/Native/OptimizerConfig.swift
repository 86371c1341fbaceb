import Training

/// An optimizer's kind and hyper-parameters — what a checkpoint needs, besides the
/// ``/Training/OptimizerState``, to rebuild the optimizer in another process.
///
/// ```swift
/// let config = try OptimizerConfig(Adam(learningRate: 1e-3))
/// var optimizer = config.makeOptimizer(state: snapshot.optimizerState)   // an Adam, restored
/// ```
public enum OptimizerConfig: Sendable, Equatable {
    /// Stochastic gradient descent, with optional (Nesterov) momentum.
    case sgd(learningRate: Float, momentum: Double, nesterov: Bool)
    /// Adam with Keras's defaults unless stated.
    case adam(learningRate: Float, beta1: Double, beta2: Double, epsilon: Double)

    /// The configuration of `optimizer`.
    /// - Throws: ``CheckpointError/unsupported(file:what:)`` for optimizers other than SGD and Adam.
    public init(_ optimizer: any Optimizer) throws {
        switch optimizer {
        case let sgd as SGD:
            self = .sgd(learningRate: sgd.learningRate, momentum: sgd.momentum, nesterov: sgd.nesterov)
        case let adam as Adam:
            self = .adam(learningRate: adam.learningRate, beta1: adam.beta1, beta2: adam.beta2, epsilon: adam.epsilon)
        default:
            throw CheckpointError.unsupported(file: "", what: "optimizer \(type(of: optimizer)) cannot be checkpointed")
        }
    }

    /// The Keras-style name stored in checkpoints (`"sgd"`, `"adam"`).
    public var kind: String {
        switch self {
        case .sgd: "sgd"
        case .adam: "adam"
        }
    }

    /// A fresh optimizer of this configuration carrying `state`.
    public func makeOptimizer(state: OptimizerState = OptimizerState()) -> any Optimizer {
        var optimizer: any Optimizer
        switch self {
        case let .sgd(learningRate, momentum, nesterov):
            optimizer = SGD(learningRate: learningRate, momentum: momentum, nesterov: nesterov)
        case let .adam(learningRate, beta1, beta2, epsilon):
            optimizer = Adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon)
        }
        optimizer.state = state
        return optimizer
    }
}

extension OptimizerConfig {
    /// The kind and result-changing hyper-parameters, as the optimizer it makes reports them
    /// (``/Training/Optimizer/identity``): what a resume must match.
    public var identity: OptimizerIdentity { makeOptimizer().identity }

    /// The same configuration with another learning rate.
    public func withLearningRate(_ learningRate: Float) -> OptimizerConfig {
        switch self {
        case let .sgd(_, momentum, nesterov): .sgd(learningRate: learningRate, momentum: momentum, nesterov: nesterov)
        case let .adam(_, beta1, beta2, epsilon): .adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon)
        }
    }
}
