import Testing
import Tensors
@testable import Training

/// The AVX kernels (`CVectorKernels`) against the Swift loops they stand in for, bit for bit:
/// Adam's fused pass with every extra, and the squared sums behind clipping norms.
@Suite struct WideKernelTests {
    /// Values with the awkward ones mixed in: ±0, NaN, ±infinity, subnormals, huge.
    static func values(_ count: Int, seed: UInt64, magnitude: Float) -> [Float] {
        let specials: [Float] = [0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude,
                                 -.leastNonzeroMagnitude, 0x1p-140, 3e38]
        return FusedAdamTests.values(count, seed: seed, magnitude: magnitude).enumerated().map { i, x in
            i % 13 == 5 ? specials[(i / 13) % specials.count] : x
        }
    }

    /// w, m, v and the average after `steps` calls of the kernel, on the AVX loop or not.
    /// `offset` scalars before the first of each buffer move where the weight starts relative to
    /// its alignment (the AVX loop begins where the weight is aligned).
    static func adam(count: Int, extras: AdamKernel.Extras, withAverage: Bool, wide: Bool, steps: Int = 3,
                     offset: Int = 0) -> [[UInt32]]
    {
        let total = count + offset
        var w = values(total, seed: 1, magnitude: 1), m = values(total, seed: 2, magnitude: 0.01)
        var v = values(total, seed: 3, magnitude: 0.01).map { abs($0) }, average = values(total, seed: 4, magnitude: 1)
        for step in 0..<steps {
            let g = values(total, seed: UInt64(10 + step), magnitude: 0.05)
            g.withUnsafeBufferPointer { gp in
                w.withUnsafeMutableBufferPointer { wp in
                    m.withUnsafeMutableBufferPointer { mp in
                        v.withUnsafeMutableBufferPointer { vp in
                            average.withUnsafeMutableBufferPointer { ap in
                                var extras = extras
                                if withAverage { extras.average = ap.baseAddress! + offset }
                                AdamKernel.step(w: wp.baseAddress! + offset, g: gp.baseAddress! + offset,
                                                m: mp.baseAddress! + offset, v: vp.baseAddress! + offset, count: count,
                                                alpha: 0.003, oneMinusBeta1: 0.1, oneMinusBeta2: 0.001, epsilon: 1e-7,
                                                extras: extras, wide: wide)
                            }
                        }
                    }
                }
            }
        }
        return [w, m, v, average].map { $0.map(\.bitPattern) }
    }

    @Test("Adam's AVX loop gives the bits of the eight-lane Swift loop, with and without each extra",
          arguments: [1, 8, 15, 16, 1003, AdamKernel.parallelThreshold + 21])
    func adamMatchesTheSwiftLoop(count: Int) throws {
        try #require(AdamKernel.hasWideVectors, "this CPU has no AVX: nothing to compare")
        // A decay far larger than any real one, so that a reassociated `w·(rate·lr)` shows in w.
        var all = AdamKernel.Extras(gradientScale: 0.7, decay: (0.9, 0.7))
        all.emaMomentum = 0.99
        for (extras, withAverage) in [(AdamKernel.Extras.none, false), (all, true), (all, false)] {
            let wide = Self.adam(count: count, extras: extras, withAverage: withAverage, wide: true)
            let narrow = Self.adam(count: count, extras: extras, withAverage: withAverage, wide: false)
            for (name, index) in [("w", 0), ("m", 1), ("v", 2), ("average", 3)] {
                #expect(wide[index] == narrow[index], "\(name), count \(count), average \(withAverage)")
            }
        }
    }

    @Test("Adam's AVX loop gives the same bits wherever the weight starts in its alignment",
          arguments: [1, 2, 3, 4, 5, 6, 7, 9])
    func adamMatchesTheSwiftLoopFromAnyStart(offset: Int) throws {
        try #require(AdamKernel.hasWideVectors, "this CPU has no AVX: nothing to compare")
        var all = AdamKernel.Extras(gradientScale: 0.7, decay: (0.9, 0.7))
        all.emaMomentum = 0.99
        for count in [3, 8, 1003, AdamKernel.parallelThreshold + 21] {
            for (extras, withAverage) in [(AdamKernel.Extras.none, false), (all, true)] {
                let wide = Self.adam(count: count, extras: extras, withAverage: withAverage, wide: true, offset: offset)
                let narrow = Self.adam(count: count, extras: extras, withAverage: withAverage, wide: false, offset: offset)
                for (name, index) in [("w", 0), ("m", 1), ("v", 2), ("average", 3)] {
                    // The first difference, not the arrays: a diff of 65,000 scalars takes minutes.
                    let first = zip(wide[index], narrow[index]).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                    #expect(first == nil, "\(name), count \(count), average \(withAverage)")
                }
            }
        }
    }

    @Test("squared sums over AVX and split into pieces are the sequential double sum's float",
          arguments: [1, 16, 17, 5000, 200_704])
    func squaredSums(count: Int) throws {
        for magnitude: Float in [1e-20, 1, 1e18] {
            let gradients = try [count, 256, 10, 3].enumerated().map { v, n in
                try Tensor(shape: [n], scalars: FusedAdamTests.values(n, seed: UInt64(v) &+ 40, magnitude: magnitude))
            }
            let sequential = gradients.map { Float($0.scalars.reduce(0.0) { $0 + Double($1) * Double($1) }) }
            for wide in [true, false] {
                #expect(GradientTransforms.squaredSums(gradients, wide: wide).map(\.bitPattern)
                        == sequential.map(\.bitPattern), "wide \(wide), magnitude \(magnitude)")
            }
        }
    }

    @Test func nonFiniteValuesInTheAVXPartGiveTheSequentialResult() throws {
        for bad: Float in [.nan, .infinity, 3e38] {
            var scalars = FusedAdamTests.values(1000, seed: 5, magnitude: 1)
            scalars[17] = bad
            let tensor = try Tensor(shape: [1000], scalars: scalars)
            let sequential = Float(scalars.reduce(0.0) { $0 + Double($1) * Double($1) })
            #expect(GradientTransforms.squaredSum(tensor, wide: true).bitPattern == sequential.bitPattern, "\(bad)")
        }
    }
}
