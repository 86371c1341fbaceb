import Testing
import Tensors
@testable import Training

@Suite struct BatchNormalizationTests {
    static let x = try! Tensor<Float>(shape: [4, 2], scalars: [1, 0, 2, 0, 3, 0, 6, 4])

    static func built(_ bn: BatchNormalization) throws -> BatchNormalization {
        var layer = bn
        layer.name = "bn"
        _ = try layer.build(inputShape: [2], seed: 0)
        try layer.setVariable("moving_mean", to: Tensor([0.5, -1]))
        try layer.setVariable("moving_variance", to: Tensor([2, 0.25]))
        return layer
    }

    /// Runs a forward pass and applies the state update it reports, as a training step does.
    static func step(_ bn: inout BatchNormalization, mode: ExecutionMode) throws -> Tensor<Float> {
        let pass = try bn.forward(Self.x, mode: mode)
        for (name, value) in pass.stateUpdate.variables { try bn.setVariable(name, to: value) }
        return pass.output
    }

    @Test func trainingForwardUpdatesMovingStatisticsWithTheBiasedVariance() throws {
        var bn = try Self.built(BatchNormalization(momentum: 0.9))
        let pass = try bn.forward(Self.x, mode: .training)
        #expect(bn.movingMean.scalars == [0.5, -1])   // the layer itself does not change
        for (name, value) in pass.stateUpdate.variables { try bn.setVariable(name, to: value) }
        // column 0: mean 3, biased var 3.5; column 1: mean 1, biased var 3.
        let mm = bn.movingMean.scalars, mv = bn.movingVariance.scalars
        #expect(abs(mm[0] - (0.9 * 0.5 + 0.1 * 3)) < 1e-6 && abs(mm[1] - (0.9 * -1 + 0.1 * 1)) < 1e-6)
        #expect(abs(mv[0] - (0.9 * 2 + 0.1 * 3.5)) < 1e-6 && abs(mv[1] - (0.9 * 0.25 + 0.1 * 3)) < 1e-6)
    }

    @Test func inferenceUsesMovingStatisticsAndLeavesThemAlone() throws {
        var bn = try Self.built(BatchNormalization())
        let y = try Self.step(&bn, mode: .inference)
        #expect(bn.movingMean.scalars == [0.5, -1])
        let expected = (1 - 0.5) / (2 + 0.001).squareRoot()
        #expect(abs(Double(y.scalars[0]) - expected) < 1e-6)
    }

    @Test func batchStatisticsModeNeverUpdatesMovingStatistics() throws {
        var bn = try Self.built(BatchNormalization(statistics: .batch))
        let y = try Self.step(&bn, mode: .inference)
        _ = try Self.step(&bn, mode: .training)
        #expect(bn.movingMean.scalars == [0.5, -1] && bn.movingVariance.scalars == [2, 0.25])
        // Batch-normalized columns have zero mean.
        #expect(abs(try y.meanAlongBatch().scalars[0]) < 1e-6)
    }

    @Test func movingModeUsesMovingStatisticsEvenWhenTraining() throws {
        var moving = try Self.built(BatchNormalization(statistics: .moving))
        let inference = try Self.built(BatchNormalization())
        let y = try Self.step(&moving, mode: .training)
        #expect(y == (try inference(Self.x, mode: .inference)))
        #expect(moving.movingMean.scalars == [0.5, -1])
    }

    @Test func frozenLayerRunsInInferenceModeAndHasNoTrainableVariables() throws {
        var frozen = try Self.built(BatchNormalization())
        frozen.isTrainable = false
        let inference = try Self.built(BatchNormalization())
        #expect(try Self.step(&frozen, mode: .training) == (try inference(Self.x, mode: .inference)))
        #expect(frozen.movingMean.scalars == [0.5, -1])
        #expect(frozen.variables.allSatisfy { !$0.isTrainable })
        var gradients = LayerGradients()
        _ = try frozen.backward(Tensor(repeating: 1, shape: [4, 2]), tape: try frozen.forward(Self.x, mode: .training).tape,
                                gradients: &gradients, needsInputGradient: true)
        #expect(gradients.isEmpty)
    }

    @Test func pureCallNeverChangesState() throws {
        let bn = try Self.built(BatchNormalization())
        _ = try bn(Self.x, mode: .training)
        #expect(bn.movingMean.scalars == [0.5, -1])
    }

    @Test func withBatchNormStatisticsReturnsAModifiedCopy() throws {
        let model = try Sequential(inputFeatures: 2, [BatchNormalization(), Dense(units: 1), BatchNormalization()])
        let batch = model.withBatchNormStatistics(.batch)
        #expect(model.layers.compactMap { ($0 as? BatchNormalization)?.statistics } == [.followMode, .followMode])
        #expect(batch.layers.compactMap { ($0 as? BatchNormalization)?.statistics } == [.batch, .batch])
        #expect(try batch(Self.x, mode: .inference) == (try model(Self.x, mode: .training)))
    }

    /// As in Keras 3 (`self.gamma = None` unless `scale`), a layer without `scale` has no
    /// gamma at all, not a gamma of ones, and one without `center` no beta: an empty tensor,
    /// no variable, nothing to set whatever the shape offered, no parameters counted.
    @Test func withoutScaleOrCenterTheLayerHasNoGammaOrBeta() throws {
        var plain = try Self.built(BatchNormalization(center: false, scale: false))
        #expect(plain.gamma.shape == [0] && plain.beta.shape == [0])
        for name in ["gamma", "beta"] {
            for shape in [[2], [3]] {
                #expect(throws: TrainingError.unknownVariable(name: "bn/\(name)", available: ["bn/moving_mean", "bn/moving_variance"])) {
                    try plain.setVariable(name, to: Tensor(zeros: shape))
                }
            }
        }
        let model = try Sequential(inputFeatures: 2, [BatchNormalization(center: false), BatchNormalization(scale: false)])
        #expect(model.layerSummaries.map(\.parameterCount) == [6, 6])   // gamma or beta, and the two moving statistics
    }

    @Test func variablesFollowKerasOrderWithoutCenterOrScale() throws {
        let plain = try Self.built(BatchNormalization(center: false, scale: false))
        #expect(plain.variables.map(\.name) == ["moving_mean", "moving_variance"])
        let full = try Self.built(BatchNormalization())
        #expect(full.variables.map(\.name) == ["gamma", "beta", "moving_mean", "moving_variance"])
        var bad = full
        #expect(throws: TrainingError.shapeMismatch(layer: "bn/gamma", expected: [2], found: [3])) {
            try bad.setVariable("gamma", to: Tensor([1, 2, 3]))
        }
    }
}
