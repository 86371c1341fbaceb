import Synchronization
import Tensors

/// A training step that runs the optimizer's update of the upper layers while the lower layers'
/// backward pass still runs (issue 19, docs/perf/layers.md "Stop 22").
///
/// In a BN-MLP's backward pass the second Dense runs its two products side by side
/// (``DenseMath/backwardSideBySide(x:kernel:dz:kernelGradient:biasGradient:wantsBias:)``): one
/// thread the input gradient dX, the other the kernel gradient dW. Then the first
/// BatchNormalization's backward passes ran on the calling thread while the other thread
/// waited, and the optimizer updated every variable after the whole backward pass. Here the
/// thread of dX goes on with the BatchNormalization–ReLU pair's backward passes, and the thread
/// of dW, once dX no longer reads the kernel, updates the Dense layer and every layer above it,
/// whose gradients are final; the layers below are updated after their backward pass.
///
/// Each variable goes through the same update function with the same plan as in
/// ``Optimizer/apply(_:to:)`` (``LayerByLayerUpdate``), and no variable is read by the backward
/// pass after its update, so weights, slots and moving statistics are the ordinary step's bits
/// (`OverlappedStepTests`). The ordinary path stays for everything else: optimizers whose
/// options need all gradients first (``OptimizerOptions/updatesEachVariableAlone``), the first
/// step (slots not laid out), models without the pattern, small models (the typed step).
extension Sequential {
    /// Whether ``Optimizer/trainingStep(_:x:y:loss:reusing:)`` may take the overlapped step (on
    /// by default; benchmarks turn it off to compare).
    package static var overlapsOptimizerUpdates: Bool {
        get { storedOverlapsOptimizerUpdates.load(ordering: .relaxed) }
        set { storedOverlapsOptimizerUpdates.store(newValue, ordering: .relaxed) }
    }

    private static let storedOverlapsOptimizerUpdates = Atomic<Bool>(true)

    /// Overrides ``overlapsOptimizerUpdates`` in the current task: tests compare the two schedules.
    @TaskLocal static var overlapsOptimizer: Bool?

    /// Steps that took the overlapped schedule since the process started (tests: it is taken).
    package static var overlappedSteps: Int { overlappedStepCount.load(ordering: .relaxed) }
    private static let overlappedStepCount = Atomic<Int>(0)

    /// The Dense layer whose backward pass runs side by side with the optimizer: a Dense layer
    /// whose two backward products run side by side on `rows` rows, right above a
    /// normalization–ReLU pair that is not the first layer, with only Dense,
    /// BatchNormalization and variable-free layers from it up (their variables are moved out
    /// and back in place). The highest such layer; nil when there is none.
    func overlappedDenseIndex(rows: Int) -> Int? {
        guard Self.overlapsOptimizer ?? Self.overlapsOptimizerUpdates, !takesTypedStep(rows: rows), layers.count >= 4 else { return nil }
        var index = layers.count - 1
        while index >= 3 {
            let layer = layers[index]
            if let dense = layer as? Dense, dense.isTrainable, dense.kernel.rank == 2,
               DenseMath.takesSideBySide(batch: rows, inputs: dense.kernel.shape[0], units: dense.kernel.shape[1]),
               normalizationReLUPair(at: index - 2, scalars: rows * dense.kernel.shape[0], rank: 2) != nil {
                return index
            }
            guard layer is Dense || layer is BatchNormalization || layer.trainableVariableNames.isEmpty else { return nil }
            index -= 1
        }
        return nil
    }

    /// ``trainingStep(x:y:loss:mode:reusing:)`` in training mode with `optimizer`'s update
    /// overlapped (see above; `core` is the optimizer's, moved out of it); `nil` with nothing
    /// changed (and `spare` untouched) when the step does not qualify. The caller applies the
    /// step's state update.
    mutating func overlappedTrainingStep<O: KerasOptimizer>(
        x: Tensor<Float>, y: Tensor<Float>, loss: Loss, optimizer: O, core: inout OptimizerCore,
        reusing spare: inout Gradients?
    ) throws -> TrainingStep? {
        try checkInput(x)
        guard let dense = overlappedDenseIndex(rows: x.shape[0]) else { return nil }
        let layout = variableLayout()
        guard var update = core.beginLayerByLayerUpdate(optimizer, shapes: layout.shapes) else { return nil }
        var finished = false
        defer { if !finished { core.abandon(update) } }
        var forward = try erasedForwardPass(x, mode: .training)
        let (value, top, fused) = try lossAndUpstream(&forward, y: y, loss: loss)
        var gradients = Gradients.laidOut(for: layers, reusing: spare.take())
        var upstream = top
        var i = layers.count - 1
        while i > dense, let g = upstream {
            (upstream, i) = try backwardLayers(at: i, upstream: g, tapes: forward.tapes, fromLogits: fused, gradients: &gradients)
        }
        var updatedFrom = layers.count
        if i == dense, let g = upstream, Dense.tape(fromErased: forward.tapes[dense]) != nil {
            (upstream, i) = try backwardOverlapped(dense: dense, upstream: g, tapes: forward.tapes, gradients: &gradients,
                                                   first: layout.first, update: &update, optimizer: optimizer)
            updatedFrom = dense
        }
        while i >= 0, let g = upstream {
            (upstream, i) = try backwardLayers(at: i, upstream: g, tapes: forward.tapes, fromLogits: fused, gradients: &gradients)
        }
        var index = 0
        for l in 0..<updatedFrom {
            let name = layers[l].name
            try layers[l].updateTrainableVariables { localName, value in
                guard let position = gradients.position(ofLayerAt: l, named: name),
                      let gradient = gradients.value(inLayerAt: position, named: localName) else {
                    throw TrainingError.missingGradients(layer: name)
                }
                update.update(&value, index: index, gradient: gradient, optimizer: optimizer)
                index += 1
            }
        }
        finished = true
        core.finish(update)
        if updatedFrom < layers.count { Self.overlappedStepCount.add(1, ordering: .relaxed) }
        return TrainingStep(loss: value, predictions: forward.predictions, gradients: gradients, stateUpdate: forward.stateUpdate)
    }

    /// Each trainable variable's shape, and the index of each layer's first variable.
    private func variableLayout() -> (shapes: [[Int]], first: [Int]) {
        var shapes: [[Int]] = [], first: [Int] = []
        for layer in layers {
            first.append(shapes.count)
            for variable in layer.variables where variable.isTrainable { shapes.append(variable.value.shape) }
        }
        return (shapes, first)
    }
}
