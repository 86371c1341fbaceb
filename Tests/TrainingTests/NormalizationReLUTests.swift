import Testing
@testable import Tensors
@testable import Training

/// A BatchNormalization on large `[rows, C]` activations and the ReLU layer after it run as one
/// pass each way in a training step (Sequential+NormalizationReLU.swift): the results must be
/// the bits of the two layers' own passes.
@Suite struct NormalizationReLUTests {
    /// Values with the cases a select or a sum could get wrong: ±0, a NaN, large and tiny values.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        var out = (0..<count).map { _ in Float(rng.nextNormal()) }
        for (i, special) in [Float(0), -0.0, .nan, 3e30, -2e-30, .infinity].enumerated() where 7 * i + 3 < count {
            out[7 * i + 3] = special
        }
        return out
    }

    static func bits(_ t: Tensor<Float>?) -> [UInt32] { t?.scalars.map(\.bitPattern) ?? [] }

    /// How many scalars differ in their bits (or the counts, when those differ).
    static func differences(_ a: [UInt32], _ b: [UInt32]) -> Int {
        a.count == b.count ? zip(a, b).filter { $0 != $1 }.count : abs(a.count - b.count) + 1_000_000
    }

    @Test(arguments: [(128, 256), (97, 203), (600, 37)])
    func normalizeThenReLUIsNormalizeAndReLU(rows: Int, columns: Int) throws {
        let x = try Tensor<Float>(shape: [rows, columns], scalars: Self.values(rows * columns, seed: 1))
        let (mean, variance) = BatchNormMath.moments(x)
        let inv = BatchNormMath.inverseStd(variance, epsilon: 1e-3)
        let gamma = Self.values(columns, seed: 2), beta = Self.values(columns, seed: 3)
        for (g, b) in [(Optional(gamma), Optional(beta)), (nil, nil)] {
            let fused = BatchNormMath.normalize(x, mean: mean, inverseStd: inv, gamma: g, beta: b, thenReLU: true)
            let normalized = BatchNormMath.normalize(x, mean: mean, inverseStd: inv, gamma: g, beta: b)
            let separate = ActivationLayer(.relu).activation.applied(to: normalized)
            #expect(Self.differences(Self.bits(fused), Self.bits(separate)) == 0, "gamma and beta: \(g != nil)")
        }
    }

    @Test(arguments: [(128, 256), (97, 203), (600, 37)])
    func backwardThroughReLUIsReLUGradientThenBackward(rows: Int, columns: Int) throws {
        let shape = [rows, columns]
        let x = try Tensor<Float>(shape: shape, scalars: Self.values(rows * columns, seed: 4))
        let upstream = try Tensor<Float>(shape: shape, scalars: Self.values(rows * columns, seed: 5))
        let reluOutput = ActivationLayer(.relu).activation.applied(
            to: try Tensor<Float>(shape: shape, scalars: Self.values(rows * columns, seed: 6)))
        let (mean, variance) = BatchNormMath.moments(x)
        let inv = BatchNormMath.inverseStd(variance, epsilon: 1e-3)
        let masked = ReLUGradientKernel.masked(upstream, output: reluOutput)
        for gamma in [Optional(Self.values(columns, seed: 7)), nil] {
            for batchStatistics in [true, false] {
                for wantsInput in [true, false] {
                    let fused = BatchNormMath.backward(
                        x: x, upstream: upstream, mean: mean, inverseStd: inv, gamma: gamma, batchStatistics: batchStatistics,
                        wantsInput: wantsInput, reusingGamma: [Float](repeating: .nan, count: columns), reluOutput: reluOutput)
                    let separate = BatchNormMath.backward(
                        x: x, upstream: masked, mean: mean, inverseStd: inv, gamma: gamma, batchStatistics: batchStatistics,
                        wantsInput: wantsInput)
                    let context = "gamma \(gamma != nil), batch statistics \(batchStatistics), input \(wantsInput)"
                    #expect(Self.differences(Self.bits(fused.input), Self.bits(separate.input)) == 0, "input: \(context)")
                    #expect(Self.differences(fused.gamma.map(\.bitPattern), separate.gamma.map(\.bitPattern)) == 0, "∂gamma: \(context)")
                    #expect(Self.differences(fused.beta.map(\.bitPattern), separate.beta.map(\.bitPattern)) == 0, "∂beta: \(context)")
                }
            }
        }
    }

    /// A BN MLP (both ReLU spellings), three Adam steps and a step in inference mode: loss,
    /// predictions, every gradient, the state updates and the trained variables, fused against unfused.
    static func run(fused: Bool) throws -> (losses: [UInt32], tensors: [[UInt32]]) {
        try Sequential.$forcedNormalizationReLU.withValue(fused) {
            var model = try Sequential(inputFeatures: 48, [
                Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
                Dense(units: 128), BatchNormalization(), ReLU(),
                Dense(units: 10, activation: .softmax),
            ], seed: 5)
            var optimizer = Adam()
            var rng = SplitMix64(seed: 6)
            var spare: Gradients?
            var losses: [UInt32] = []
            var tensors: [[UInt32]] = []
            for step in 0..<4 {
                let x = try Tensor<Float>(shape: [128, 48], scalars: (0..<(128 * 48)).map { _ in Float(rng.nextNormal()) })
                let y = Tensor<Float>((0..<128).map { _ in Float(rng.nextIndex(below: 10)) })
                let mode: ExecutionMode = step == 3 ? .inference : .training
                let result = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy, mode: mode,
                                                    reusing: spare.take())
                losses.append(result.loss.bitPattern)
                tensors.append(bits(result.predictions))
                for name in model.trainableVariableNames { tensors.append(bits(result.gradients[name])) }
                for entry in result.stateUpdate.entries { tensors += entry.update.variableValues.map { bits($0) } }
                try model.apply(result.stateUpdate)
                try optimizer.apply(result.gradients, to: &model)
                spare = result.gradients
            }
            tensors += model.variables.map { bits($0.value) }
            return (losses, tensors)
        }
    }

    @Test func aBNMLPStepIsTheSameFusedAndUnfused() throws {
        let fused = try Self.run(fused: true)
        let separate = try Self.run(fused: false)
        #expect(fused.losses == separate.losses)
        #expect(fused.tensors.count == separate.tensors.count)
        let differing = zip(fused.tensors, separate.tensors).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(differing.isEmpty, "tensors that differ: \(differing)")
    }

    @Test func onlyLargeWidePairsBeforeTheLastLayerRunAsOne() throws {
        let model = try Sequential(inputFeatures: 8, [
            Dense(units: 64), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 8), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 32), BatchNormalization(), ActivationLayer(.sigmoid), BatchNormalization(), ReLU(),
        ], seed: 1)
        #expect(model.normalizationReLUPair(at: 1, scalars: 1 << 14, rank: 2) != nil)
        #expect(model.normalizationReLUPair(at: 1, scalars: (1 << 14) - 1, rank: 2) == nil)   // small activations
        #expect(model.normalizationReLUPair(at: 1, scalars: 1 << 14, rank: 4) == nil)         // images
        #expect(model.normalizationReLUPair(at: 4, scalars: 1 << 20, rank: 2) == nil)         // 8 columns: narrow kernels
        #expect(model.normalizationReLUPair(at: 0, scalars: 1 << 20, rank: 2) == nil)         // not a normalization
        #expect(model.normalizationReLUPair(at: 7, scalars: 1 << 20, rank: 2) == nil)         // sigmoid after it
        #expect(model.normalizationReLUPair(at: 9, scalars: 1 << 20, rank: 2) == nil)         // ReLU is the last layer
        Sequential.$forcedNormalizationReLU.withValue(false) {
            #expect(model.normalizationReLUPair(at: 1, scalars: 1 << 14, rank: 2) == nil)
        }
    }
}
