import Testing
import Tensors
@testable import Training

/// The fused Adam pass (clipping factor, weight decay, rule and EMA in one pass per variable)
/// against the general loop (one pass per stage), bit for bit, over several steps.
@Suite struct FusedAdamTests {
    /// Sizes with SIMD lanes and a scalar tail, one above `AdamKernel.parallelThreshold`
    /// (chunked update, gradient norms summed side by side) and some tiny ones.
    static let shapes = [[AdamKernel.parallelThreshold + 11, 1], [13], [8], [1]]
    static let names = ["dense/kernel", "dense/bias", "norm/gamma", "out/bias"]

    /// Deterministic values in about ±`magnitude` (a linear congruential generator).
    static func values(_ count: Int, seed: UInt64, magnitude: Float) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) - 0.5) * 2 * magnitude
        }
    }

    /// Variables and state after `steps` updates, with the fused pass on or off.
    static func run<O: KerasOptimizer>(_ make: () -> O, fused: Bool, steps: Int) throws
        -> (values: [[UInt32]], slots: [String: [UInt32]])
    {
        var optimizer = make()
        optimizer.core.fusesAdam = fused
        var values = try shapes.enumerated().map { v, shape in
            try Tensor(shape: shape, scalars: Self.values(shape.reduce(1, *), seed: UInt64(v), magnitude: 1))
        }
        for step in 0..<steps {
            let gradients = try shapes.enumerated().map { v, shape in
                try Tensor(shape: shape, scalars: Self.values(shape.reduce(1, *), seed: UInt64(100 * step + v + 7),
                                                                magnitude: 0.05))
            }
            try optimizer.apply(gradients: gradients, to: &values, names: names)
        }
        return (values.map { $0.scalars.map(\.bitPattern) }, optimizer.state.slots.mapValues { $0.scalars.map(\.bitPattern) })
    }

    static func expectSameBits<O: KerasOptimizer>(steps: Int = 5, _ make: () -> O) throws {
        let fused = try run(make, fused: true, steps: steps)
        let general = try run(make, fused: false, steps: steps)
        for v in fused.values.indices { #expect(fused.values[v] == general.values[v], "variable \(names[v])") }
        #expect(fused.slots.keys.sorted() == general.slots.keys.sorted())
        for (key, bits) in general.slots { #expect(fused.slots[key] == bits, "slot \(key)") }
    }

    @Test func adamWWithGlobalClipnormAndEMAMatchesTheGeneralLoop() throws {
        try Self.expectSameBits {
            var options = OptimizerOptions(learningRate: 0.01)
            options.weightDecay = 0.004
            options.globalClipnorm = 1
            options.useEMA = true
            options.emaMomentum = 0.99
            return AdamW(options: options)
        }
    }

    @Test func adamWithAccumulationClippingAndEMAOverwriteMatchesTheGeneralLoop() throws {
        try Self.expectSameBits(steps: 7) {
            var options = OptimizerOptions(learningRate: 0.02)
            options.weightDecay = 0.1
            options.globalClipnorm = 0.5
            options.gradientAccumulationSteps = 2
            options.useEMA = true
            options.emaMomentum = 0.9
            options.emaOverwriteFrequency = 2
            return Adam(options: options, beta1: 0.8, beta2: 0.99, epsilon: 1e-3)
        }
    }

    @Test func plainAdamMatchesTheGeneralLoop() throws {
        try Self.expectSameBits { Adam(learningRate: 0.01) }
    }
}

/// The squared sum behind clipping norms: the unordered shortcut must give the sequential
/// double sum's float, bit for bit, or fall back to it.
@Suite struct SquaredSumTests {
    @Test func squaredSumEqualsTheSequentialDoubleSum() throws {
        for trial in 0..<400 {
            let count = [1, 7, 8, 9, 1000, 70_001][trial % 6]
            let magnitude: Float = [1e-20, 1e-3, 1, 3e3, 1e18][trial % 5]
            let scalars = FusedAdamTests.values(count, seed: UInt64(trial) &+ 99, magnitude: magnitude)
            let sequential = Float(scalars.reduce(0.0) { $0 + Double($1) * Double($1) })
            let tensor = try Tensor(shape: [count], scalars: scalars)
            #expect(GradientTransforms.squaredSum(tensor).bitPattern == sequential.bitPattern, "trial \(trial)")
        }
    }

    /// 1 + 2⁻²⁴ is halfway between two floats: the sequential sum stays there (each 2⁻⁶⁰ is
    /// below half a double ulp of it) and rounds to 1, while partial sums of the tiny squares
    /// push an unordered sum past the midpoint, to the next float up.
    @Test func sumAtAFloatMidpointKeepsTheSequentialRounding() throws {
        let scalars: [Float] = [1, 0x1p-12] + Array(repeating: 0x1p-30, count: 2000)
        let sequential = Float(scalars.reduce(0.0) { $0 + Double($1) * Double($1) })
        #expect(sequential == 1)
        let tensor = try Tensor(shape: [scalars.count], scalars: scalars)
        #expect(GradientTransforms.squaredSum(tensor).bitPattern == sequential.bitPattern)
    }

    @Test func nonFiniteValuesGiveTheSequentialResult() throws {
        for bad: Float in [.nan, .infinity, 3e38] {
            let tensor = try Tensor(shape: [9], scalars: [1, 2, bad, 4, 5, 6, 7, 8, 9])
            let sequential = Float(tensor.scalars.reduce(0.0) { $0 + Double($1) * Double($1) })
            #expect(GradientTransforms.squaredSum(tensor).bitPattern == sequential.bitPattern, "\(bad)")
        }
    }
}
