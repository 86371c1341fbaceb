import Synchronization
import Tensors

/// A training step runs a `BatchNormalization` on `[rows, C]` and the ReLU layer right after it
/// as one pass forward and one backward (stop 18, issue 19), when the activations are large:
/// the normalized values are never written, and the ReLU gradient is formed inside the
/// normalization's backward passes instead of in a pass of its own (BatchNormMath+ReLU.swift).
/// Each layer still gets its own tape, state update and gradients, and the values are the same
/// bits as the two layers' own passes (`NormalizationReLUTests`).
extension Sequential {
    /// Pairs run as one below this many scalars in the activations: a small model's passes are
    /// cheap and its step is bookkeeping, which the checks here would only add to.
    static let fusedNormalizationReLUMinimumScalars = 1 << 14

    /// Whether ``trainingStep(x:y:loss:mode:reusing:)`` runs normalization–ReLU pairs as one
    /// (on by default; benchmarks turn it off to compare).
    package static var fusesNormalizationReLU: Bool {
        get { storedFusesNormalizationReLU.load(ordering: .relaxed) }
        set { storedFusesNormalizationReLU.store(newValue, ordering: .relaxed) }
    }

    private static let storedFusesNormalizationReLU = Atomic<Bool>(true)

    /// Overrides ``fusesNormalizationReLU`` in the current task: tests compare the fused and
    /// the separate passes in a process whose other tests run steps meanwhile.
    @TaskLocal static var forcedNormalizationReLU: Bool?

    /// The normalization at `index` and the ReLU after it, when the step runs them as one on
    /// activations `scalars` large of `rank` (the ReLU is not the last layer: a fused loss
    /// starts from the last layer's logits).
    func normalizationReLUPair(at index: Int, scalars: Int, rank: Int) -> BatchNormalization? {
        guard scalars >= Self.fusedNormalizationReLUMinimumScalars, rank == 2, index >= 0, index + 2 < layers.count,
              let normalization = layers[index] as? BatchNormalization,
              let features = normalization.inputShape?.last, features > NarrowColumnKernels.maximumWidth,
              Self.forcedNormalizationReLU ?? Self.fusesNormalizationReLU else { return nil }
        let next = layers[index + 1]
        guard (next as? ActivationLayer)?.activation == .relu || next is ReLU else { return nil }
        return normalization
    }

    /// The forward pass of a pair ``normalizationReLUPair(at:scalars:rank:)`` found: the ReLU's
    /// output, both layers' tapes (the normalization's first) and the normalization's state update.
    func forwardNormalizationReLU(_ normalization: BatchNormalization, input: Tensor<Float>,
                                  mode: ExecutionMode) throws -> (output: Tensor<Float>, tapes: (any Sendable, any Sendable),
                                                                  stateUpdate: LayerStateUpdate) {
        try normalization.checkBuiltInput(input, mode: mode)
        let pass = try normalization.normalizeRows(input, mode: mode, thenReLU: true)
        return (pass.output, (pass.tape, ActivationLayer.Tape(output: pass.output)), pass.stateUpdate)
    }

    /// The backward pass of the pair whose ReLU is at `reluIndex`, from ∂L/∂(ReLU output), when
    /// its tapes are the ones a forward pass of the pair makes; `nil` (nothing done) otherwise.
    /// Returns the normalization's input gradient (nil when the normalization is the first
    /// layer) and stores both layers' gradients.
    func backwardNormalizationReLU(reluAt reluIndex: Int, upstream: Tensor<Float>, tapes: [any Sendable],
                                   gradients: inout Gradients) throws -> Tensor<Float>?? {
        let index = reluIndex - 1
        guard let normalization = normalizationReLUPair(at: index, scalars: upstream.scalarCount, rank: upstream.rank),
              let reluTape = ActivationLayer.tape(fromErased: tapes[reluIndex]),
              let tape = BatchNormalization.tape(fromErased: tapes[index]) else { return nil }
        guard upstream.shape == reluTape.output.shape else {
            throw TrainingError.shapeMismatch(layer: layers[reluIndex].name, expected: reluTape.output.shape,
                                              found: upstream.shape)
        }
        var reluGradients = gradients.takeReusable(layer: reluIndex)
        gradients.store(&reluGradients, layer: reluIndex)
        var layerGradients = gradients.takeReusable(layer: index)
        let input = try normalization.backwardRows(upstream, reluOutput: reluTape.output, tape: tape,
                                                   gradients: &layerGradients, needsInputGradient: index > 0)
        gradients.store(&layerGradients, layer: index)
        return .some(input)
    }
}
