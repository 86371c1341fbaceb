import Tensors

/// A layer whose training-mode statistics span every segment of a global batch, so that
/// ``Sequential/trainingStep(segments:loss:mode:batchStatistics:)`` runs it on all segments
/// at once, through a ``BatchStatisticsReducer``, instead of one segment at a time.
///
/// A process whose own computation failed still enters every reduction (with `localFailure`
/// set and no rows), so that the other processes do not wait for it; only the reducer's own
/// errors are thrown.
protocol GlobalBatchStatisticsLayer: Layer {
    /// Whether a pass in `mode` normalises with batch statistics and so enters the reducer.
    func usesGlobalBatchStatistics(in mode: ExecutionMode) -> Bool

    /// The forward pass of every segment (nil: a segment without rows) with statistics over
    /// the whole global batch, and the one state update they give.
    func forward(segments: [Tensor<Float>?], mode: ExecutionMode, reducer: any BatchStatisticsReducer,
                 localFailure: inout (any Error)?) throws -> (passes: [LayerOutput<Tape>?], stateUpdate: LayerStateUpdate)

    /// The backward pass of every segment through the tapes of ``forward(segments:mode:reducer:localFailure:)``:
    /// each segment's input gradient (when needed, which takes a reduction) and its share of
    /// the variables' gradients.
    func backward(segments upstream: [Tensor<Float>?], tapes: [Tape?], reducer: any BatchStatisticsReducer,
                  needsInputGradient: Bool, localFailure: inout (any Error)?) throws
        -> (inputs: [Tensor<Float>?], gradients: [LayerGradients?])
}

extension GlobalBatchStatisticsLayer {
    /// ``forward(segments:mode:reducer:localFailure:)`` with the tapes erased.
    func erasedForward(segments: [Tensor<Float>?], mode: ExecutionMode, reducer: any BatchStatisticsReducer,
                       localFailure: inout (any Error)?) throws -> (passes: [ErasedLayerOutput?], stateUpdate: LayerStateUpdate) {
        let result = try forward(segments: segments, mode: mode, reducer: reducer, localFailure: &localFailure)
        let passes = result.passes.map { pass in
            pass.map { ErasedLayerOutput(output: $0.output, tape: $0.tape, logits: $0.logits, stateUpdate: $0.stateUpdate) }
        }
        return (passes, result.stateUpdate)
    }

    /// ``backward(segments:tapes:reducer:needsInputGradient:localFailure:)`` through erased tapes.
    func erasedBackward(segments upstream: [Tensor<Float>?], tapes: [(any Sendable)?], reducer: any BatchStatisticsReducer,
                        needsInputGradient: Bool, localFailure: inout (any Error)?) throws
        -> (inputs: [Tensor<Float>?], gradients: [LayerGradients?]) {
        var typed: [Tape?] = []
        for (segment, tape) in zip(upstream, tapes) {
            guard segment != nil else { typed.append(nil); continue }
            guard let erased = tape, let tape = Self.tape(fromErased: erased) else {
                if localFailure == nil { localFailure = TrainingError.missingGradients(layer: name) }
                typed = []
                break
            }
            typed.append(tape)
        }
        let live = localFailure == nil ? upstream : upstream.map { _ in nil }
        if typed.count != live.count { typed = live.map { _ in nil } }
        return try backward(segments: live, tapes: typed, reducer: reducer, needsInputGradient: needsInputGradient,
                            localFailure: &localFailure)
    }
}

/// Synchronized BatchNormalization: the mean and biased variance of the whole global batch
/// (numerically stable: the global mean first, then a second reduction of the centred sums
/// `Σ(x − mean)²`), and in backward the global `Σ dy` and `Σ dy·x̂` (PyTorch's SyncBatchNorm
/// reduces `Σ dy·(x − mean)`, which is `Σ dy·x̂` divided by the per-feature `inverseStd`).
/// Each segment's sums are computed as ``BatchNormMath`` computes a whole batch's, so with one
/// segment the step is bitwise the ordinary one.
extension BatchNormalization: GlobalBatchStatisticsLayer {
    func usesGlobalBatchStatistics(in mode: ExecutionMode) -> Bool { usesBatchStatistics(in: mode) }

    func forward(segments: [Tensor<Float>?], mode: ExecutionMode, reducer: any BatchStatisticsReducer,
                 localFailure: inout (any Error)?) throws -> (passes: [LayerOutput<Tape>?], stateUpdate: LayerStateUpdate) {
        let (features, count) = try globalRowCount(reducer)
        var rows: [Tensor<Float>?] = []
        do {
            rows = try segments.map { segment in
                guard let segment else { return nil }
                try checkBuiltInput(segment, mode: mode)
                return segment.rank == 2 ? segment : try segment.reshaped(inferring: [-1, features])
            }
        } catch {
            if localFailure == nil { localFailure = error }
        }
        if localFailure != nil { rows = segments.map { _ in nil } }
        let zeros = [Float](repeating: 0, count: features)
        let scale = 1 / Float(count)
        var mean: [Float], variance: [Float]
        if reducer.mergesMomentsInOneRound {
            // One round: each segment's moments around its own mean, merged by the reducer.
            let merged = try reducer.mergeMoments(rows.map { $0.map(Self.segmentMoments) ?? .empty(width: features) },
                                                  width: features)
            (mean, variance) = (merged.mean, merged.centredSquares)
        } else {
            // Σx per column, rows in order: the first loop of BatchNormMath.moments.
            let columnSums = rows.map { $0.map(BatchNormMath.columnSums) ?? zeros }
            mean = try reducer.sum(segmentSums: columnSums, width: features)
            for j in 0..<features { mean[j] *= scale }
            variance = try reducer.sum(segmentSums: rows.map { $0.map { BatchNormMath.centredSquares($0, mean: mean) } ?? zeros },
                                       width: features)
        }
        for j in 0..<features { variance[j] *= scale }
        // The inverse deviations and the moving-average update of the global moments come from
        // the code a one-process pass runs (forwardStatistics), so the two cannot drift apart.
        // This pass runs only where usesBatchStatistics(in: mode) holds, so forwardStatistics
        // takes the moments given here; its tape input is a placeholder (each segment's tape
        // below holds that segment's rows).
        let (statistics, update) = forwardStatistics(of: Tensor(zeros: [0, features]), mode: mode) { (mean, variance) }
        let inverseStd = statistics.inverseStd
        var passes: [LayerOutput<Tape>?] = []
        do {
            passes = try zip(rows, segments).map { rows, segment in
                guard let rows, let segment else { return nil }
                let output = BatchNormMath.normalize(rows, mean: mean, inverseStd: inverseStd,
                                                     gamma: gammaIfScaled, beta: center ? beta.scalars : nil)
                return LayerOutput(output: try output.reshaped(to: segment.shape),
                                   tape: Tape(input: rows, mean: mean, inverseStd: inverseStd, usedBatchStatistics: true))
            }
        } catch {
            if localFailure == nil { localFailure = error }
            passes = segments.map { _ in nil }
        }
        return (passes, update)
    }

    func backward(segments upstream: [Tensor<Float>?], tapes: [Tape?], reducer: any BatchStatisticsReducer,
                  needsInputGradient: Bool, localFailure: inout (any Error)?) throws
        -> (inputs: [Tensor<Float>?], gradients: [LayerGradients?]) {
        let (features, count) = try globalRowCount(reducer)
        // Each segment's Σ g·x̂ and Σ g, exactly as an ordinary backward pass sums a batch.
        var parts: [(g: Tensor<Float>, tape: Tape, sumGX: [Float], sumG: [Float])?] = []
        do {
            parts = try zip(upstream, tapes).map { upstream, tape in
                guard let upstream, let tape else { return nil }
                let g = upstream.rank == 2 ? upstream : try upstream.reshaped(inferring: [-1, features])
                guard g.shape == tape.input.shape else {
                    throw TrainingError.shapeMismatch(layer: name, expected: tape.input.shape, found: g.shape)
                }
                let sums = BatchNormMath.backward(x: tape.input, upstream: g, mean: tape.mean, inverseStd: tape.inverseStd,
                                                  gamma: nil, batchStatistics: true, wantsInput: false)
                return (g, tape, sums.gamma, sums.beta)
            }
        } catch {
            if localFailure == nil { localFailure = error }
            parts = upstream.map { _ in nil }
        }
        let gradients: [LayerGradients?] = parts.map { part in
            guard let part else { return nil }
            var layerGradients = LayerGradients()
            affine.store(gammaGradient: Tensor(part.sumGX), betaGradient: Tensor(part.sumG), isTrainable: isTrainable,
                         in: &layerGradients)
            return layerGradients
        }
        guard needsInputGradient else { return (parts.map { _ in nil }, gradients) }
        let zeros = [Float](repeating: 0, count: 2 * features)
        let totals = try reducer.sum(segmentSums: parts.map { $0.map { $0.sumG + $0.sumGX } ?? zeros }, width: 2 * features)
        let sumG = Array(totals[..<features]), sumGX = Array(totals[features...])
        var inputs: [Tensor<Float>?] = []
        do {
            inputs = try zip(parts, upstream).map { part, upstream in
                guard let part, let upstream else { return nil }
                let dx = BatchNormMath.inputGradient(x: part.tape.input, upstream: part.g, mean: part.tape.mean,
                                                     inverseStd: part.tape.inverseStd, gamma: gammaIfScaled,
                                                     sumG: sumG, sumGX: sumGX, count: count)
                return try dx.reshaped(to: upstream.shape)
            }
        } catch {
            if localFailure == nil { localFailure = error }
            inputs = upstream.map { _ in nil }
        }
        return (inputs, gradients)
    }

    /// The channel count and the rows (examples × pixels) the statistics span in the global batch.
    private func globalRowCount(_ reducer: any BatchStatisticsReducer) throws -> (features: Int, rows: Int) {
        guard let inputShape, let features = inputShape.last else {
            throw TrainingError.invalidArgument(layer: name, message: "the layer is not built (use it in a Sequential)")
        }
        let (rows, overflow) = reducer.globalExampleCount.multipliedReportingOverflow(by: inputShape.dropLast().reduce(1, *))
        guard reducer.globalExampleCount > 0, !overflow else {
            throw TrainingError.invalidArgument(
                layer: name, message: "batch statistics of a global batch of \(reducer.globalExampleCount) examples are undefined")
        }
        return (features, rows)
    }

    private var gammaIfScaled: [Float]? { scale ? gamma.scalars : nil }

    /// A segment's row count, mean and centred sums around that mean, computed as one process
    /// computes a whole batch's (so that one segment merged alone gives the ordinary step's bits).
    private static func segmentMoments(_ x: Tensor<Float>) -> SegmentMoments {
        let count = x.shape[0]
        var mean = BatchNormMath.columnSums(x)
        let scale = 1 / Float(count)
        for j in mean.indices { mean[j] *= scale }
        let (sums, squares) = BatchNormMath.centredSumsAndSquares(x, mean: mean)
        return SegmentMoments(count: count, mean: mean, centredSums: sums, centredSquares: squares)
    }
}
