import Tensors

/// One training step over a global batch given in segments
/// (``Sequential/trainingStep(segments:loss:mode:batchStatistics:)``): each segment's loss,
/// outputs and share of the gradients, and the one state update of the whole batch.
///
/// ```swift
/// let step = try model.trainingStep(segments: [(x: x.rows(0..<8), y: y.rows(0..<8)),
///                                              (x: x.rows(8..<16), y: y.rows(8..<16))],
///                                   loss: .sparseCategoricalCrossentropy)
/// let kernelGradients = step.segments.compactMap { $0?.gradients["dense/kernel"] }   // they add up to the batch's
/// ```
public struct SegmentedTrainingStep: Sendable {
    /// Each segment's step, in the order given; nil for a segment without rows. Its ``TrainingStep/loss``
    /// is the segment's mean loss, its ``TrainingStep/gradients`` the segment's share of the
    /// gradient of the global batch's mean loss (the segments' gradients, over all processes,
    /// add up to it), and its ``TrainingStep/stateUpdate`` holds the new moving statistics of
    /// the BatchNormalization layers the reducer does not synchronize, from this segment's own
    /// statistics (ghost batches; empty when every layer is synchronized).
    public var segments: [TrainingStep?]
    /// New moving statistics from the global batch's statistics of the synchronized
    /// BatchNormalization layers, and Dropout's generator state after the whole global batch
    /// (the same on every process that shares the reducer), for ``Sequential/apply(_:)``.
    public var stateUpdate: ModelStateUpdate
}

extension Sequential {
    /// One training step over a global batch cut into segments, some of which may be held by
    /// other processes: every layer runs on each segment separately, except that
    /// BatchNormalization layers using batch statistics normalise every segment with the
    /// statistics of the whole global batch, which `batchStatistics` adds up (forward: the
    /// global mean, then the centred sums; backward: `Σ dy` and `Σ dy·x̂`), unless the
    /// reducer's `synchronizesBatchStatistics(ofLayer:)` says otherwise (then each segment uses its own
    /// statistics). Dropout draws each example's mask as a pass over the whole global batch
    /// would (from the example's index, `firstGlobalExample(ofSegment:)`), so the masks do not depend on
    /// how the batch is cut. The gradients are those of the global batch's mean loss, split by
    /// segment. The model does not change.
    ///
    /// This is synchronized BatchNormalization's training step: the Distributed module's
    /// data-parallel trainer passes each rank's micro-shards as segments and a reducer across
    /// ranks. Without a reducer the segments are the whole batch; with a single segment the
    /// step is bitwise ``trainingStep(x:y:loss:mode:reusing:)``.
    ///
    /// A process whose own segments fail (a shape error, say) still enters every reduction of
    /// the step with empty sums before throwing, so that processes sharing the reducer are not
    /// left waiting; errors of the reducer itself are thrown at once.
    /// - Parameters:
    ///   - segments: this process's segments of the global batch, in the reducer's order; nil
    ///     or zero rows for a segment without rows.
    ///   - loss: the loss whose global-batch mean the step differentiates.
    ///   - mode: `.training` (the default) or `.inference`.
    ///   - batchStatistics: adds the segments' sums over the global batch; nil: the segments
    ///     given are the whole batch.
    /// - Throws: ``TrainingError/invalidArgument(layer:message:)`` for a layer that draws
    ///   random numbers in training mode when the reducer does not say where each segment
    ///   starts (every segment would draw the same ones), or a global batch smaller than the
    ///   rows given; the first error of a segment's computation.
    public func trainingStep(
        segments: [(x: Tensor<Float>, y: Tensor<Float>)?], loss: Loss, mode: ExecutionMode = .training,
        batchStatistics: (any BatchStatisticsReducer)? = nil
    ) throws -> SegmentedTrainingStep {
        let localRows = segments.reduce(0) { $0 + ($1?.x.rowCount ?? 0) }
        let reducer = batchStatistics ?? LocalBatchStatistics(globalExampleCount: localRows, segmentStarts: Self.starts(of: segments))
        let firstExamples = segments.indices.map { reducer.firstGlobalExample(ofSegment: $0) }
        let addressable = !firstExamples.contains(nil)
        if mode == .training, let random = layers.first(where: { $0.randomState != nil && !($0 is Dropout && addressable) }) {
            throw TrainingError.invalidArgument(layer: random.name,
                                                message: "draws random numbers in training mode; every segment would draw the same ones")
        }
        var failure: (any Error)?
        var h: [Tensor<Float>?] = segments.map { segment in segment.flatMap { $0.x.rowCount > 0 ? $0.x : nil } }
        do {
            guard reducer.globalExampleCount >= localRows else {
                throw TrainingError.invalidArgument(
                    layer: name, message: "the global batch has \(reducer.globalExampleCount) examples, fewer than the \(localRows) given")
            }
            for x in h.compactMap({ $0 }) { try checkInput(x) }
        } catch {
            failure = error
            h = h.map { _ in nil }
        }
        let live = h.map { $0 != nil }
        var tapes: [[(any Sendable)?]] = []
        var logits: [Tensor<Float>?] = h.map { _ in nil }
        var stateUpdate = ModelStateUpdate()
        var segmentUpdates = h.map { _ in ModelStateUpdate() }
        // Each layer that normalises with batch statistics in `mode`, cast once for the forward
        // and the backward pass: a cast to a protocol costs about 1,600 instructions, and the
        // step cast every layer twice (a callgrind profile of the data-parallel step, stop 26).
        let globalLayers: [(any GlobalBatchStatisticsLayer)?] = layers.map { layer in
            (layer as? any GlobalBatchStatisticsLayer).flatMap { $0.usesGlobalBatchStatistics(in: mode) ? $0 : nil }
        }
        for (layerIndex, layer) in layers.enumerated() {
            var layerTapes: [(any Sendable)?] = h.map { _ in nil }
            if let global = globalLayers[layerIndex],
               reducer.synchronizesBatchStatistics(ofLayerAt: layerIndex, named: layer.name) {
                let result = try global.erasedForward(segments: h, mode: mode, reducer: reducer, localFailure: &failure)
                if !result.stateUpdate.isEmpty { stateUpdate.set(result.stateUpdate, layer: layer.name, index: layerIndex) }
                for k in h.indices {
                    h[k] = result.passes[k]?.output
                    layerTapes[k] = result.passes[k]?.tape
                    logits[k] = result.passes[k]?.logits
                }
            } else if mode == .training, layer.randomState != nil, let dropout = layer as? Dropout {
                // (Only a layer with a generator can be Dropout: the others skip the cast.)
                for k in h.indices {
                    guard let input = h[k], let first = firstExamples[k] else { continue }
                    do {
                        let pass = try dropout.forward(input, mode: mode, firstExample: first)
                        (h[k], layerTapes[k], logits[k]) = (pass.output, pass.tape, pass.logits)
                    } catch {
                        if failure == nil { failure = error }
                    }
                }
                if let state = dropout.randomState(afterBatchOf: reducer.globalExampleCount) {
                    stateUpdate.set(LayerStateUpdate(randomState: state), layer: layer.name, index: layerIndex)
                }
            } else {
                for k in h.indices {
                    guard let input = h[k] else { continue }
                    do {
                        let pass = try layer.erasedForward(input, mode: mode)
                        if !pass.stateUpdate.isEmpty { segmentUpdates[k].set(pass.stateUpdate, layer: layer.name, index: layerIndex) }
                        (h[k], layerTapes[k], logits[k]) = (pass.output, pass.tape, pass.logits)
                    } catch {
                        if failure == nil { failure = error }
                    }
                }
            }
            if failure != nil { h = h.map { _ in nil } }
            tapes.append(layerTapes)
        }
        var steps: [TrainingStep?] = h.map { _ in nil }
        var upstream: [Tensor<Float>?] = h.map { _ in nil }
        let last = layers.count - 1
        let fused = (loss.fusableActivation.map { layers[last].outputActivation == $0 } ?? false)
            && h.indices.allSatisfy { h[$0] == nil || logits[$0] != nil }
        for k in h.indices {
            guard let output = h[k], let y = segments[k]?.y else { continue }
            do {
                let result = fused
                    ? try Loss(loss.kind, fromLogits: true).valueAndGradient(predictions: logits[k] ?? output, targets: y)
                    : try loss.valueAndGradient(predictions: output, targets: y)
                // The segment's share of the global batch's mean: its own mean's gradient times nₖ/N.
                let share = Float(output.rowCount) / Float(reducer.globalExampleCount)
                upstream[k] = share == 1 ? result.gradient : result.gradient * share
                steps[k] = TrainingStep(loss: result.value, predictions: output, gradients: Gradients(),
                                        stateUpdate: ModelStateUpdate())
            } catch {
                if failure == nil { failure = error }
            }
        }
        if failure != nil { upstream = upstream.map { _ in nil } }
        var gradients = h.map { _ in Gradients.laidOut(for: layers, reusing: nil) }
        for i in stride(from: last, through: 0, by: -1) {
            let layer = layers[i]
            var layerGradients = h.map { _ in LayerGradients() }
            if let global = globalLayers[i] {
                let result = try global.erasedBackward(segments: upstream, tapes: tapes[i], reducer: reducer,
                                                       needsInputGradient: i > 0, localFailure: &failure)
                for k in h.indices {
                    if let computed = result.gradients[k] { layerGradients[k] = computed }
                    upstream[k] = result.inputs[k]
                }
            } else {
                for k in h.indices {
                    guard let g = upstream[k], let tape = tapes[i][k] else { continue }
                    do {
                        upstream[k] = try layer.erasedBackward(g, tape: tape, fromLogits: fused && i == last,
                                                               gradients: &layerGradients[k], needsInputGradient: i > 0)
                    } catch {
                        layerGradients[k] = LayerGradients()
                        if failure == nil { failure = error }
                    }
                }
            }
            if failure != nil {
                upstream = upstream.map { _ in nil }
                layerGradients = h.map { _ in LayerGradients() }
            }
            // The reducer may start adding this layer's gradients up while the earlier layers run.
            try reducer.backwardPassFinished(layer: i, named: layer.name, gradients: &layerGradients)
            for k in h.indices where !layerGradients[k].isEmpty { gradients[k].store(&layerGradients[k], layer: i) }
        }
        if let failure { throw failure }
        for k in h.indices where live[k] {
            steps[k]?.gradients = gradients[k]
            steps[k]?.stateUpdate = segmentUpdates[k]
        }
        return SegmentedTrainingStep(segments: steps, stateUpdate: stateUpdate)
    }

    /// Where each segment starts when the segments, laid end to end, are the whole batch.
    private static func starts(of segments: [(x: Tensor<Float>, y: Tensor<Float>)?]) -> [Int] {
        var starts: [Int] = [], next = 0
        for segment in segments {
            starts.append(next)
            next += segment?.x.rowCount ?? 0
        }
        return starts
    }
}
