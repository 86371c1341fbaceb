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
