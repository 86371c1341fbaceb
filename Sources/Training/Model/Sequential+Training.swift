import Tensors

extension Sequential {
    /// One training step computed from this model value, which does not change: a forward
    /// pass in `mode`, the batch-mean loss and a backward pass giving every trainable
    /// variable's gradient. Apply the result with ``apply(_:)`` (moving statistics, Dropout
    /// generators) and an optimizer (``Optimizer/apply(_:to:)``); computing it twice from
    /// the same model gives bitwise-identical results.
    ///
    /// When the last layer ends in sigmoid (with binary crossentropy) or softmax (with
    /// categorical / sparse categorical crossentropy) and the loss takes probabilities, the
    /// loss and its gradient are computed from the logits, as Keras does.
    /// - Parameters:
    ///   - x: a batch of examples shaped ``inputShape``.
    ///   - y: the batch's targets, as `loss` takes them.
    ///   - loss: the loss whose batch mean the step computes and differentiates.
    ///   - mode: `.training` (the default) normalizes with batch statistics, whose moving
    ///     averages the step's ``TrainingStep/stateUpdate`` carries, and drops with Dropout.
    ///   - spare: the gradients of an earlier step of this model, whose storage the step
    ///     overwrites instead of allocating (pass it moved, `spare.take()`, so it is not shared).
    public func trainingStep(
        x: Tensor<Float>, y: Tensor<Float>, loss: Loss, mode: ExecutionMode = .training,
        reusing spare: consuming Gradients? = nil
    ) throws -> TrainingStep {
        try trainingStep(x: x, y: y, loss: loss, mode: mode, reusing: spare, typed: nil)
    }

    /// ``trainingStep(x:y:loss:mode:reusing:)`` through ``TypedTrainingStep`` (`typed` true)
    /// or through a list of type-erased tapes (false); nil picks the typed step where
    /// ``takesTypedStep(rows:)`` says so. Tests compare the two bit for bit.
    func trainingStep(x: Tensor<Float>, y: Tensor<Float>, loss: Loss, mode: ExecutionMode,
                      reusing spare: consuming Gradients?, typed: Bool?) throws -> TrainingStep {
        try checkInput(x)
        if typed ?? takesTypedStep(rows: x.shape[0]) {
            var step = TypedTrainingStep(mode: mode, loss: loss, targets: y, last: layers.count - 1,
                                         gradients: Gradients.laidOut(for: layers, reusing: spare.take()))
            _ = try layers[0].typedStep(x, index: 0, layers: layers, step: &step)
            return TrainingStep(loss: step.value, predictions: step.predictions, gradients: step.gradients,
                                stateUpdate: step.stateUpdate)
        }
        var tapes: [any Sendable] = []
        tapes.reserveCapacity(layers.count)
        var stateUpdate = ModelStateUpdate()
        var h = x
        var lastLogits: Tensor<Float>?
        var index = 0
        while index < layers.count {
            // A large BatchNormalization and the ReLU after it run as one (Sequential+NormalizationReLU.swift).
            if let normalization = normalizationReLUPair(at: index, scalars: h.scalarCount, rank: h.rank) {
                let pair = try forwardNormalizationReLU(normalization, input: h, mode: mode)
                tapes.append(pair.tapes.0)
                tapes.append(pair.tapes.1)
                if !pair.stateUpdate.isEmpty { stateUpdate.set(pair.stateUpdate, layer: layers[index].name, index: index) }
                h = pair.output
                lastLogits = nil
                index += 2
                continue
            }
            let pass = try layers[index].erasedForward(h, mode: mode)
            tapes.append(pass.tape)
            if !pass.stateUpdate.isEmpty { stateUpdate.set(pass.stateUpdate, layer: layers[index].name, index: index) }
            h = pass.output
            lastLogits = pass.logits
            index += 1
        }
        let predictions = h
        let last = layers.count - 1
        let value: Float
        var upstream: Tensor<Float>?
        let fused: Bool
        if let activation = loss.fusableActivation, layers[last].outputActivation == activation, let logits = lastLogits.take() {
            // The logits are handed over (no other reference), so the gradient overwrites them.
            let result = try LossMath.valueAndGradient(Loss(loss.kind, fromLogits: true), predictions: logits, targets: y)
            (value, upstream, fused) = (result.value, result.gradient, true)
        } else {
            let result = try loss.valueAndGradient(predictions: predictions, targets: y)
            (value, upstream, fused) = (result.value, result.gradient, false)
        }
        var gradients = Gradients.laidOut(for: layers, reusing: spare)
        var i = last
        while i >= 0, let g = upstream {
            if let input = try backwardNormalizationReLU(reluAt: i, upstream: g, tapes: tapes, gradients: &gradients) {
                upstream = input
                i -= 2
                continue
            }
            var layerGradients = gradients.takeReusable(layer: i)
            upstream = try layers[i].erasedBackward(g, tape: tapes[i], fromLogits: fused && i == last,
                                                   gradients: &layerGradients, needsInputGradient: i > 0)
            gradients.store(&layerGradients, layer: i)
            i -= 1
        }
        return TrainingStep(loss: value, predictions: predictions, gradients: gradients, stateUpdate: stateUpdate)
    }

    /// Whether a step on batches of `rows` examples takes ``TypedTrainingStep``: a model of at
    /// most ``TypedTrainingStep/layerLimit`` layers whose every activation (the input and each
    /// layer's output, over the batch: ``widestExample``) has at most
    /// ``TypedTrainingStep/scalarLimit`` scalars. The typed step saves a fixed few hundred
    /// instructions per layer, which only small activations notice; large ones keep the list,
    /// which is where passes that span layers are written.
    func takesTypedStep(rows: Int) -> Bool {
        guard layers.count <= TypedTrainingStep.layerLimit else { return false }
        let (scalars, overflow) = rows.multipliedReportingOverflow(by: widestExample)
        return !overflow && scalars <= TypedTrainingStep.scalarLimit
    }

    /// Writes a step's state changes into the model: each layer's new moving statistics
    /// and generator state.
    /// - Throws: ``TrainingError/unknownVariable(name:available:)`` for an update naming a
    ///   layer or variable the model does not have.
    public mutating func apply(_ update: ModelStateUpdate) throws {
        // By index, reading each entry in place: iterating the entries (and zipping the names
        // with the values) copied every entry and pair, a retain and a release of each of
        // their strings, lists and tensors on every step.
        let entries = update.entries
        for e in entries.indices {
            let layerName = entries[e].layerName
            let index: Int
            if let position = entries[e].layerIndex, position < layers.count, layers[position].name == layerName {
                index = position
            } else if let found = layers.firstIndex(where: { $0.name == layerName }) {
                index = found
            } else {
                throw TrainingError.unknownVariable(name: layerName, available: layers.map(\.name))
            }
            let names = entries[e].update.variableNames
            for v in names.indices {
                try layers[index].setVariable(names[v], to: entries[e].update.variableValues[v])
            }
            if let state = entries[e].update.randomState { try layers[index].setRandomState(state) }
        }
    }

    /// The batch-mean loss of a forward pass in `mode` (no state change), fused with the
    /// output activation as in ``trainingStep(x:y:loss:mode:reusing:)``.
    public func loss(x: Tensor<Float>, y: Tensor<Float>, loss: Loss, mode: ExecutionMode = .inference)
        throws -> (loss: Float, predictions: Tensor<Float>)
    {
        try checkInput(x)
        var h = x
        for layer in layers.dropLast() { h = try layer(h, mode: mode) }
        let last = try layers[layers.count - 1].erasedForward(h, mode: mode)
        if let fused = loss.fusableActivation, layers[layers.count - 1].outputActivation == fused,
           let logits = last.logits {
            let value = try Loss(loss.kind, fromLogits: true).value(predictions: logits, targets: y)
            return (value, last.output)
        }
        return (try loss.value(predictions: last.output, targets: y), last.output)
    }

    /// Names of the trainable variables, in the order ``updateTrainableVariables(using:_:)`` visits them.
    public var trainableVariableNames: [String] {
        layers.flatMap { layer in layer.trainableVariableNames.map { "\(layer.name)/\($0)" } }
    }

    /// Calls `update` with each trainable variable's index (in ``trainableVariableNames``) and
    /// value (in place), as ``updateTrainableVariables(using:_:)`` without gradients: an
    /// optimizer's second pass, after its first found every gradient. Looking each gradient up
    /// again (by layer and variable name, with a copy of the tensor) cost a small model's step
    /// more than its Adam arithmetic.
    mutating func updateTrainableVariablesInOrder(_ update: (_ index: Int, _ value: inout Tensor<Float>) throws -> Void) throws {
        var index = 0
        for i in layers.indices {
            try layers[i].updateTrainableVariables { _, value in
                try update(index, &value)
                index += 1
            }
        }
    }

    /// Calls `update` with each trainable variable's index (in ``trainableVariableNames``),
    /// value (in place) and its gradient from `gradients`. Optimizers are built on this.
    /// - Throws: ``TrainingError/missingGradients(layer:)`` naming the first layer whose
    ///   trainable variable has no gradient in `gradients`.
    public mutating func updateTrainableVariables(
        using gradients: Gradients,
        _ update: (_ index: Int, _ value: inout Tensor<Float>, _ gradient: Tensor<Float>) throws -> Void
    ) throws {
        try updateTrainableVariables(handingOver: gradients) { index, value, gradient in try update(index, &value, gradient) }
    }

    /// ``updateTrainableVariables(using:_:)`` handing each gradient over to `update`, which
    /// may keep it without a copy: an optimizer's first pass keeps every gradient, and a copy
    /// retained and released both of each tensor's buffers.
    mutating func updateTrainableVariables(
        handingOver gradients: Gradients,
        _ update: (_ index: Int, _ value: inout Tensor<Float>, _ gradient: consuming Tensor<Float>) throws -> Void
    ) throws {
        var index = 0
        for i in layers.indices {
            let layerName = layers[i].name
            // The layer's position in `gradients`, not a copy of its gradients: copying the
            // bookkeeping arrays (and releasing them) cost more than the look-ups.
            let position = gradients.position(ofLayerAt: i, named: layerName)
            try layers[i].updateTrainableVariables { localName, value in
                guard let position, let gradient = gradients.value(inLayerAt: position, named: localName) else {
                    throw TrainingError.missingGradients(layer: layerName)
                }
                try update(index, &value, gradient)
                index += 1
            }
        }
    }
}
