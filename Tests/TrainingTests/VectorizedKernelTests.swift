import Testing
import Tensors
@testable import Training

/// The vectorized and chunked kernels of the training step against plain scalar loops (the
/// code they replaced), compared bit for bit: a speed-up must not change a single result.
@Suite struct VectorizedKernelTests {
    /// Random values with the awkward ones mixed in: ±0, NaN, ±infinity, subnormals.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        let specials: [Float] = [0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude]
        return (0..<count).map { i in i % 11 == 3 ? specials[i % specials.count] : Float(rng.nextNormal()) }
    }

    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    @Test("relu forward and backward give the bits of the scalar select, tail included", arguments: [1, 8, 13, 1000])
    func relu(count: Int) {
        let x = Self.values(count, seed: 1), upstream = Self.values(count, seed: 2)
        var out = [Float](repeating: 7, count: count)
        x.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { VectorLoops.relu(source.baseAddress!, into: $0.baseAddress!, count: count) }
        }
        #expect(Self.bits(out) == Self.bits(x.map { $0 < 0 ? 0 : $0 }))
        var g = upstream
        out.withUnsafeBufferPointer { y in
            g.withUnsafeMutableBufferPointer { VectorLoops.reluBackward($0.baseAddress!, output: y.baseAddress!, count: count) }
        }
        #expect(Self.bits(g) == Self.bits(zip(upstream, out).map { $1 > 0 ? $0 : 0 }))
    }

    @Test("Adam's chunked update of a large variable gives the bits of the scalar rule")
    func adamChunks() {
        let count = AdamKernel.parallelThreshold * 2 + 13
        let g = Self.values(count, seed: 3).map { $0.isFinite ? $0 : 0.5 }
        var w = Self.values(count, seed: 4).map { $0.isFinite ? $0 : -1 }
        var m = g.map { $0 * 0.25 }, v = g.map { $0 * $0 }
        var (wRef, mRef, vRef) = (w, m, v)
        let (alpha, b1, b2, eps): (Float, Float, Float, Float) = (0.001, 0.1, 0.001, 1e-7)
        for i in 0..<count {
            mRef[i] += (g[i] - mRef[i]) * b1
            vRef[i] += (g[i] * g[i] - vRef[i]) * b2
            wRef[i] -= (mRef[i] * alpha) / (vRef[i].squareRoot() + eps)
        }
        g.withUnsafeBufferPointer { gp in
            w.withUnsafeMutableBufferPointer { wp in
                m.withUnsafeMutableBufferPointer { mp in
                    v.withUnsafeMutableBufferPointer { vp in
                        AdamKernel.step(w: wp.baseAddress!, g: gp.baseAddress!, m: mp.baseAddress!, v: vp.baseAddress!,
                                        count: count, alpha: alpha, oneMinusBeta1: b1, oneMinusBeta2: b2, epsilon: eps)
                    }
                }
            }
        }
        #expect(Self.bits(m) == Self.bits(mRef))
        #expect(Self.bits(v) == Self.bits(vRef))
        #expect(Self.bits(w) == Self.bits(wRef))
    }

    @Test("BatchNormalization's moments, normalization and backward give the bits of the scalar loops",
          arguments: [(1, 1), (5, 3), (37, 19), (128, 256), (32, 1), (32, 8), (7, 9), (33, 16), (3, 17)])
    func batchNorm(shape: (rows: Int, columns: Int)) throws {
        let (n, c) = shape
        let xs = Self.values(n * c, seed: 5).map { $0.isFinite ? $0 : 2 }
        let gs = Self.values(n * c, seed: 6).map { $0.isFinite ? $0 : -3 }
        let x = try Tensor(shape: [n, c], scalars: xs), g = try Tensor(shape: [n, c], scalars: gs)
        let gamma = Self.values(c, seed: 7).map { $0.isFinite ? $0 : 1 }
        let beta = Self.values(c, seed: 8).map { $0.isFinite ? $0 : 0 }
        // The scalar reference: row-order column sums, as before the loops were vectorized.
        var mean = [Float](repeating: 0, count: c), variance = mean
        for r in 0..<n { for j in 0..<c { mean[j] += xs[r * c + j] } }
        for j in 0..<c { mean[j] *= 1 / Float(n) }
        for r in 0..<n { for j in 0..<c { let d = xs[r * c + j] - mean[j]; variance[j] += d * d } }
        for j in 0..<c { variance[j] *= 1 / Float(n) }
        let moments = BatchNormMath.moments(x)
        #expect(Self.bits(moments.mean) == Self.bits(mean))
        #expect(Self.bits(moments.variance) == Self.bits(variance))

        let inverseStd = BatchNormMath.inverseStd(variance, epsilon: 0.001)
        let inv = (0..<c).map { inverseStd[$0] * gamma[$0] }
        let shift = (0..<c).map { beta[$0] - mean[$0] * inv[$0] }
        let y = BatchNormMath.normalize(x, mean: mean, inverseStd: inverseStd, gamma: gamma, beta: beta)
        #expect(y.shape == [n, c])
        #expect(Self.bits(y.scalars) == Self.bits((0..<(n * c)).map { xs[$0] * inv[$0 % c] + shift[$0 % c] }))

        var sumG = [Float](repeating: 0, count: c), sumGX = sumG
        for r in 0..<n {
            for j in 0..<c {
                let xh = (xs[r * c + j] - mean[j]) * inverseStd[j]
                sumG[j] += gs[r * c + j]
                sumGX[j] += gs[r * c + j] * xh
            }
        }
        let invN = 1 / Float(n)
        let dx = (0..<(n * c)).map { i -> Float in
            let j = i % c
            let xh = (xs[i] - mean[j]) * inverseStd[j]
            return inv[j] * (gs[i] - invN * (sumG[j] + xh * sumGX[j]))
        }
        let batch = BatchNormMath.backward(x: x, upstream: g, mean: mean, inverseStd: inverseStd, gamma: gamma,
                                           batchStatistics: true, wantsInput: true)
        #expect(Self.bits(batch.beta) == Self.bits(sumG))
        #expect(Self.bits(batch.gamma) == Self.bits(sumGX))
        #expect(Self.bits(batch.input?.scalars ?? []) == Self.bits(dx))
        let moving = BatchNormMath.backward(x: x, upstream: g, mean: mean, inverseStd: inverseStd, gamma: gamma,
                                            batchStatistics: false, wantsInput: true)
        #expect(Self.bits(moving.input?.scalars ?? []) == Self.bits((0..<(n * c)).map { gs[$0] * inv[$0 % c] }))
    }

    @Test("Dense's bias-seeded product and reused bias-gradient buffer give the bits of the plain formulas")
    func dense() throws {
        let (n, k, units) = (9, 7, 5)
        let x = try Tensor(shape: [n, k], scalars: Self.values(n * k, seed: 9).map { $0.isFinite ? $0 : 1 })
        let kernel = try Tensor(shape: [k, units], scalars: Self.values(k * units, seed: 10).map { $0.isFinite ? $0 : 1 })
        let bias = try Tensor(shape: [units], scalars: Self.values(units, seed: 11).map { $0.isFinite ? $0 : 1 })
        let z = DenseMath.affine(x, kernel: kernel, bias: bias)
        var expected = try Tensor(shape: [n, units], scalars: (0..<(n * units)).map { bias.scalars[$0 % units] })
        Tensor.matmul(x, kernel, transposeA: false, transposeB: false, accumulate: true, into: &expected)
        #expect(Self.bits(z.scalars) == Self.bits(expected.scalars))

        var sums: Tensor<Float>? = Tensor<Float>(repeating: 99, shape: [units])   // stale values must not leak in
        DenseMath.columnSums(z, into: &sums)
        #expect(Self.bits(sums!.scalars) == Self.bits(try z.sumAlongBatch().scalars))
        var fresh: Tensor<Float>?
        DenseMath.columnSums(z, into: &fresh)
        #expect(Self.bits(fresh!.scalars) == Self.bits(sums!.scalars))
        // Narrow widths take NarrowColumnKernels (eight columns per register), wider ones the row loop.
        for columns in [1, 7, 8, 9, 16, 17] {
            let rows = 33
            let values = Self.values(rows * columns, seed: UInt64(columns))
            let dz = try Tensor(shape: [rows, columns], scalars: values)
            var expected = [Float](repeating: 0, count: columns)
            for r in 0..<rows { for c in 0..<columns { expected[c] += values[r * columns + c] } }
            var reused: Tensor<Float>? = Tensor<Float>(repeating: 99, shape: [columns])
            DenseMath.columnSums(dz, into: &reused)
            #expect(Self.bits(reused!.scalars) == Self.bits(expected), "\(columns) columns")
        }
    }
}
