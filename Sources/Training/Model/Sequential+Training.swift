import Tensors

extension Sequential {
    /// The stateful forward pass: caches for backward; in training mode it updates BN moving
    /// statistics (layers following the mode) and advances Dropout generators.
    public mutating func forward(_ x: Tensor<Float>, mode: ExecutionMode) throws -> Tensor<Float> {
        try checkInput(x)
        var h = x
        for i in layers.indices { h = try layers[i].forward(h, mode: mode) }
        return h
    }

    /// One forward pass in `mode` (training mode updates BN moving statistics), the
    /// batch-mean loss and a backward pass that stores every trainable variable's gradient
    /// (read them with ``gradients``; optimizers consume them).
    ///
    /// When the last layer ends in sigmoid (with binary crossentropy) or softmax (with
    /// categorical / sparse categorical crossentropy) and the loss takes probabilities, the
    /// loss and its gradient are computed from the logits, as Keras does.
    /// - Returns: the loss and the model's output (probabilities, not logits).
    @discardableResult
    public mutating func lossAndGradients(
        x: Tensor<Float>, y: Tensor<Float>, loss: Loss, mode: ExecutionMode = .training
    ) throws -> (loss: Float, predictions: Tensor<Float>) {
        let predictions = try forward(x, mode: mode)
        let last = layers.count - 1
        var upstream: Tensor<Float>?
        let value: Float
        if let fused = loss.fusableActivation, layers[last].outputActivation == fused,
           let logits = layers[last].lastLogits {
            let result = try Loss(loss.kind, fromLogits: true).valueAndGradient(predictions: logits, targets: y)
            value = result.value
            upstream = try layers[last].backward(logitGradient: result.gradient, needsInputGradient: last > 0)
        } else {
            let result = try loss.valueAndGradient(predictions: predictions, targets: y)
            value = result.value
            upstream = try layers[last].backward(result.gradient, needsInputGradient: last > 0)
        }
        var i = last - 1
        while i >= 0, let g = upstream {
            upstream = try layers[i].backward(g, needsInputGradient: i > 0)
            i -= 1
        }
        return (value, predictions)
    }

    /// The batch-mean loss of a pure forward pass in `mode` (no state change), fused with the
    /// output activation as in ``lossAndGradients(x:y:loss:mode:)``.
    public func loss(x: Tensor<Float>, y: Tensor<Float>, loss: Loss, mode: ExecutionMode = .inference)
        throws -> (loss: Float, predictions: Tensor<Float>)
    {
        try checkInput(x)
        var h = x
        for layer in layers.dropLast() { h = try layer(h, mode: mode) }
        let last = layers[layers.count - 1]
        if let fused = loss.fusableActivation, last.outputActivation == fused,
           let logits = try last.logits(h, mode: mode) {
            var predictions = logits
            fused.apply(inPlace: &predictions)
            let value = try Loss(loss.kind, fromLogits: true).value(predictions: logits, targets: y)
            return (value, predictions)
        }
        let predictions = try last(h, mode: mode)
        return (try loss.value(predictions: predictions, targets: y), predictions)
    }

    /// Names of the trainable variables, in the order ``updateTrainableVariables(_:)`` visits them.
    public var trainableVariableNames: [String] {
        layers.flatMap { layer in layer.trainableVariableNames.map { "\(layer.name)/\($0)" } }
    }

    /// Calls `update` with each trainable variable's index (in ``trainableVariableNames``),
    /// value and stored gradient. Optimizers are built on this.
    /// - Throws: ``TrainingError/missingGradients(layer:)`` before the first backward pass.
    public mutating func updateTrainableVariables(
        _ update: (_ index: Int, _ value: inout Tensor<Float>, _ gradient: Tensor<Float>) throws -> Void
    ) throws {
        var index = 0
        for i in layers.indices {
            try layers[i].updateTrainableVariables { value, gradient in
                try update(index, &value, gradient)
                index += 1
            }
        }
    }
}
