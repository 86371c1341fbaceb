import Tensors

/// A training step whose tapes never leave their layer's type: the step recurses through the
/// layers, each layer's frame running its forward pass, the rest of the model (the next
/// layer's frame, or the loss after the last layer) and then its backward pass with the tape
/// still a typed local.
///
/// ``Sequential/trainingStep(x:y:loss:mode:reusing:)``'s list of type-erased tapes boxed every
/// tape larger than an existential's inline buffer (Dense's, BatchNormalization's: an
/// allocation each per layer and step), held the list itself (one more) and cast each tape
/// back. The arithmetic is the same calls in the same order — every forward pass, the loss,
/// every backward pass in reverse — so the results are bitwise those of the list.
struct TypedTrainingStep {
    /// Models with more layers take the list: a frame per layer must fit any thread's stack.
    static let layerLimit = 32
    /// Activations with more scalars take the list (``Sequential/takesTypedStep(rows:)``).
    static let scalarLimit = 1 << 14

    let mode: ExecutionMode
    let loss: Loss
    let targets: Tensor<Float>
    let last: Int
    var stateUpdate = ModelStateUpdate()
    var gradients: Gradients
    var value: Float = 0
    var predictions = Tensor<Float>(zeros: [0])

    /// The loss of the model's output (`output`, with the last layer's `logits` when it has
    /// them) and its gradient, fused with the output activation where the list fuses it.
    /// - Returns: the gradient, and whether it is the one with respect to the logits.
    mutating func lossGradient(output: Tensor<Float>, logits: consuming Tensor<Float>?,
                               outputActivation: Activation?) throws -> (gradient: Tensor<Float>?, fromLogits: Bool) {
        predictions = output
        if let activation = loss.fusableActivation, outputActivation == activation, let logits = logits.take() {
            // The logits are handed over (no other reference), so the gradient overwrites them.
            let result = try LossMath.valueAndGradient(Loss(loss.kind, fromLogits: true), predictions: logits, targets: targets)
            value = result.value
            return (result.gradient, true)
        }
        let result = try loss.valueAndGradient(predictions: output, targets: targets)
        value = result.value
        return (result.gradient, false)
    }
}

extension Layer {
    /// The part of a ``TypedTrainingStep`` from this layer (at `index` of `layers`) on:
    /// returns ∂L/∂input (nil when the layer at 0 needs none or a later layer gave none).
    /// Specialized like ``erasedForward(_:mode:)``, with its body out of line for the same reason.
    @_specialize(where Self == Dense)
    @_specialize(where Self == BatchNormalization)
    @_specialize(where Self == ActivationLayer)
    func typedStep(_ input: Tensor<Float>, index: Int, layers: [any Layer],
                   step: inout TypedTrainingStep) throws -> Tensor<Float>? {
        try typedStepBody(input, index: index, layers: layers, step: &step)
    }

    /// ``typedStep(_:index:layers:step:)``'s body.
    @inline(never)
    private func typedStepBody(_ input: Tensor<Float>, index: Int, layers: [any Layer],
                               step: inout TypedTrainingStep) throws -> Tensor<Float>? {
        var pass = try forward(input, mode: step.mode)
        if !pass.stateUpdate.isEmpty { step.stateUpdate.set(pass.stateUpdate, layer: name, index: index) }
        let upstream: Tensor<Float>?
        let fromLogits: Bool
        if index == step.last {
            (upstream, fromLogits) = try step.lossGradient(output: pass.output, logits: pass.logits.take(),
                                                           outputActivation: outputActivation)
        } else {
            upstream = try layers[index + 1].typedStep(pass.output, index: index + 1, layers: layers, step: &step)
            fromLogits = false
        }
        guard let upstream else { return nil }
        var layerGradients = step.gradients.takeReusable(layer: index)
        let inputGradient = fromLogits
            ? try backward(logitGradient: upstream, tape: pass.tape, gradients: &layerGradients, needsInputGradient: index > 0)
            : try backward(upstream, tape: pass.tape, gradients: &layerGradients, needsInputGradient: index > 0)
        step.gradients.store(&layerGradients, layer: index)
        return inputGradient
    }
}
