import Testing
import Tensors
@testable import Training

@Suite struct DropoutTests {
    static func built(rate: Double, seed: UInt64) throws -> Dropout {
        var d = Dropout(rate: rate, seed: seed)
        d.name = "dropout"
        _ = try d.build(inputShape: [100], seed: 0)
        return d
    }

    @Test func trainingDropsAboutRateAndScalesSurvivors() throws {
        let d = try Self.built(rate: 0.3, seed: 9)
        let x = Tensor<Float>(repeating: 1, shape: [200, 100])
        let pass = try d.forward(x, mode: .training)
        let y = pass.output
        let kept = y.scalars.filter { $0 != 0 }
        #expect(kept.allSatisfy { $0 == Float(1 / 0.7) })
        let fraction = Double(kept.count) / Double(y.scalarCount)
        // 20 000 draws: σ = sqrt(0.21 / 20 000) ≈ 0.0032, so 0.015 is about 4.6σ.
        #expect(abs(fraction - 0.7) < 0.015)
        // Backward multiplies by the same mask.
        var gradients = LayerGradients()
        let g = try d.backward(x, tape: pass.tape, gradients: &gradients, needsInputGradient: true)!
        #expect(g == y && gradients.isEmpty)
    }

    @Test func inferenceIsTheIdentity() throws {
        let d = try Self.built(rate: 0.5, seed: 1)
        let x = Tensor<Float>(repeating: 2, shape: [3, 100])
        let pass = try d.forward(x, mode: .inference)
        #expect(pass.output == x && pass.stateUpdate.isEmpty)
    }

    @Test func masksRepeatFromASavedStateAndAdvanceOtherwise() throws {
        var d = try Self.built(rate: 0.5, seed: 4)
        let x = Tensor<Float>(repeating: 1, shape: [2, 100])
        let saved = d.rngState
        let first = try d.forward(x, mode: .training)
        // The pass reports the advanced state and leaves the layer alone.
        let advanced = try #require(first.stateUpdate.randomState)
        #expect(advanced != saved && d.rngState == saved)
        d.rngState = advanced
        let second = try d.forward(x, mode: .training)
        #expect(first.output != second.output)
        d.rngState = saved
        #expect(try d.forward(x, mode: .training).output == first.output)
        // The plain call draws from the current state too.
        #expect(try d(x, mode: .training) == first.output && d.rngState == saved)
    }

    @Test func forcedMaskIsUsedVerbatim() throws {
        var d = try Self.built(rate: 0.5, seed: 4)
        let mask = try Tensor<Float>(shape: [1, 100], scalars: (0..<100).map { $0 % 2 == 0 ? 2 : 0 })
        d.forcedMask = mask
        #expect(try d.forward(Tensor(repeating: 1, shape: [1, 100]), mode: .training).output == mask)
    }

    /// Pins the draws: one uniform float per value in row-major order from `SplitMix64(state:)`,
    /// kept when `>= rate` (Keras's rule) and scaled by `1 / (1 − rate)`; the state after the
    /// pass is the generator's after exactly those draws.
    @Test func masksAreOneDrawPerValueInRowMajorOrder() throws {
        let d = try Self.built(rate: 0.25, seed: 33)
        let pass = try d.forward(Tensor(repeating: 1, shape: [3, 100]), mode: .training)
        var rng = SplitMix64(state: d.rngState)
        let expected = (0..<300).map { _ in rng.nextUniformFloat() >= Float(0.25) ? Float(1 / 0.75) : 0 }
        #expect(pass.output.scalars == expected)
        #expect(pass.stateUpdate.randomState == rng.state)
    }

    /// A training step moves the model's generator on by one draw per value, once.
    @Test func eachAppliedTrainingStepAdvancesTheGeneratorOnce() throws {
        var model = try Sequential(inputFeatures: 5, [Dropout(rate: 0.5, seed: 8), Dense(units: 1)], seed: 1)
        let x = Tensor<Float>(repeating: 1, shape: [4, 5]), y = Tensor<Float>(zeros: [4, 1])
        var rng = SplitMix64(state: 8)
        for _ in 0..<3 {
            try model.apply(try model.trainingStep(x: x, y: y, loss: .meanSquaredError).stateUpdate)
            for _ in 0..<20 { _ = rng.nextUniformFloat() }
            #expect(model.randomStates["dropout"] == rng.state)
        }
    }
}
