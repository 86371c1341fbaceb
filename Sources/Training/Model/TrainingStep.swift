import Tensors

/// Everything one training step computes from a model value that does not change while it
/// computes (``Sequential/trainingStep(x:y:loss:mode:reusing:)``): the loss, the outputs,
/// the gradients for an optimizer and the state the forward pass moved on.
///
/// ```swift
/// let step = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
/// try model.apply(step.stateUpdate)          // BN moving statistics, Dropout generators
/// try adam.apply(step.gradients, to: &model) // the trainable variables
/// ```
public struct TrainingStep: Sendable {
    /// The batch-mean loss.
    public var loss: Float
    /// The model's outputs (probabilities, not logits).
    public var predictions: Tensor<Float>
    /// The gradient of every trainable variable.
    public var gradients: Gradients
    /// New moving statistics and advanced generator states, for ``Sequential/apply(_:)``.
    public var stateUpdate: ModelStateUpdate
}

/// The state changes of one forward pass through a model, by layer name: what each
/// layer's ``LayerStateUpdate`` says. ``Sequential/apply(_:)`` writes them into the model.
///
/// ```swift
/// let step = try model.trainingStep(x: x, y: y, loss: .binaryCrossentropy)
/// let newMean = step.stateUpdate.layers["batch_normalization"]?.variables["moving_mean"]
/// ```
public struct ModelStateUpdate: Sendable, Equatable {
    /// Each changed layer's update, by layer name.
    public var layers: [String: LayerStateUpdate]

    /// An update; empty by default.
    public init(layers: [String: LayerStateUpdate] = [:]) {
        self.layers = layers
    }

    /// Whether the pass changed nothing.
    public var isEmpty: Bool { layers.values.allSatisfy(\.isEmpty) }
}

/// One layer's forward result with its tape's type erased, so that a model keeps the tapes
/// of different layer types in one list.
struct ErasedLayerOutput {
    var output: Tensor<Float>
    var tape: any Sendable
    var logits: Tensor<Float>?
    var stateUpdate: LayerStateUpdate
}

extension Layer {
    /// ``forward(_:mode:)`` with the tape erased.
    func erasedForward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> ErasedLayerOutput {
        let pass = try forward(input, mode: mode)
        return ErasedLayerOutput(output: pass.output, tape: pass.tape, logits: pass.logits, stateUpdate: pass.stateUpdate)
    }

    /// The backward pass through a tape this layer's ``erasedForward(_:mode:)`` produced,
    /// from ∂L/∂output or, with `fromLogits`, from ∂L/∂logits.
    func erasedBackward(_ upstream: Tensor<Float>, tape: any Sendable, fromLogits: Bool,
                        gradients: inout LayerGradients, needsInputGradient: Bool) throws -> Tensor<Float>? {
        guard let tape = tape as? Tape else { throw TrainingError.missingGradients(layer: name) }
        if fromLogits {
            return try backward(logitGradient: upstream, tape: tape, gradients: &gradients,
                                needsInputGradient: needsInputGradient)
        }
        return try backward(upstream, tape: tape, gradients: &gradients, needsInputGradient: needsInputGradient)
    }
}
