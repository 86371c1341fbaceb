import Tensors

/// Updates a model's trainable variables from the gradients of a training step
/// (``Sequential/trainingStep(x:y:loss:mode:reusing:)``).
///
/// ```swift
/// var sgd: any Optimizer = SGD(learningRate: 0.1, momentum: 0.9)
/// let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
/// try sgd.apply(step.gradients, to: &model)
/// ```
public protocol Optimizer: Sendable {
    /// The step size (Keras holds it as float32).
    var learningRate: Float { get set }
    /// Completed steps.
    var iterations: Int64 { get }
    /// The full state; setting it restores slots by variable name at the next step.
    var state: OptimizerState { get set }
    /// One update of every trainable variable of `model` from its gradient in `gradients`
    /// (``Sequential/updateTrainableVariables(using:_:)`` visits them).
    mutating func apply(_ gradients: Gradients, to model: inout Sequential) throws
    /// The kind and the result-changing hyper-parameters (not the learning rate), recorded in
    /// snapshots so that a resume with another optimizer is refused rather than silently
    /// misreading the saved state.
    var identity: OptimizerIdentity { get }
    /// What Keras's `fit` does when training ends (`optimizer.finalize_variable_values`): with
    /// `use_ema`, every trainable variable of `model` takes its exponential moving average.
    /// `Trainer.fit` calls it once at the end; checkpoints taken during training hold the
    /// values before it, so a resume continues the training weights.
    func finalizeVariableValues(of model: inout Sequential) throws
}

extension Optimizer {
    /// Nothing to finalize: the variables are final as trained.
    public func finalizeVariableValues(of model: inout Sequential) throws {}
}
