import Tensors

/// Updates a model's trainable variables from the gradients its last
/// ``Sequential/lossAndGradients(x:y:loss:mode:)`` stored.
///
/// ```swift
/// var sgd: any Optimizer = SGD(learningRate: 0.1, momentum: 0.9)
/// try model.lossAndGradients(x: x, y: y, loss: .meanSquaredError)
/// try sgd.apply(to: &model)
/// ```
public protocol Optimizer: Sendable {
    /// The step size (Keras holds it as float32).
    var learningRate: Float { get set }
    /// Completed steps.
    var iterations: Int64 { get }
    /// The full state; setting it restores slots by variable name at the next step.
    var state: OptimizerState { get set }
    /// One update of every trainable variable of `model`.
    mutating func apply(to model: inout Sequential) throws
    /// The kind and the result-changing hyper-parameters (not the learning rate), recorded in
    /// snapshots so that a resume with another optimizer is refused rather than silently
    /// misreading the saved state.
    var identity: OptimizerIdentity { get }
}
