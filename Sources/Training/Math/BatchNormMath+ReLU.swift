import Tensors

/// A normalization and the ReLU layer after it as one pass each way (stop 18, issue 19): the
/// BN-MLP's `BatchNormalization → ReLU` pairs wrote the normalized activations, read them back
/// for the ReLU and wrote the ReLU's output; backward, the ReLU gradient was a pass of its own
/// whose result the normalization's two passes then read. Here the forward pass writes the
/// ReLU's output only, and the backward passes form `reluOutput > 0 ? upstream : 0` where they
/// read it. Every scalar goes through the same float operations in the same order as in the
/// separate passes (`VectorLoops.relu`, ``ReLUGradientKernel``, ``BatchNormMath``'s loops),
/// so the results are the same bits; `NormalizationReLUTests` compares them.
extension BatchNormMath {
    /// `out = v < 0 ? 0 : v` with `v = x·a + b` per column, row by row.
    static func normalizeRowsThenReLU<S: BLASScalar>(
        _ x: UnsafePointer<S>, rows: Int, columns c: Int, a: UnsafePointer<S>, b: UnsafePointer<S>,
        into out: UnsafeMutablePointer<S>
    ) {
        var source = x, target = out
        for _ in 0..<rows {
            for j in 0..<c {
                let v = source[j] * a[j] + b[j]
                target[j] = v < 0 ? 0 : v
            }
            source += c
            target += c
        }
    }

    /// ``backward(x:upstream:mean:inverseStd:gamma:batchStatistics:wantsInput:reusingGamma:reusingBeta:reluOutput:)``'s
    /// passes with the ReLU gradient formed in them; `sumGX` and `sumG` hold `C` zeros on entry.
    static func backwardThroughReLU<S: BLASScalar>(
        x: Tensor<S>, upstream: Tensor<S>, reluOutput: Tensor<S>, mean: [S], inverseStd: [S], gamma: [S]?,
        batchStatistics: Bool, wantsInput: Bool, sumGX: inout [S], sumG: inout [S]
    ) -> Tensor<S>? {
        let n = x.shape[0], c = x.shape[1], count = x.scalarCount
        return x.withUnsafeBufferPointer { xs in
            upstream.withUnsafeBufferPointer { gs in
                reluOutput.withUnsafeBufferPointer { ys in
                    mean.withUnsafeBufferPointer { meanBuffer in
                        inverseStd.withUnsafeBufferPointer { invBuffer in
                            sumG.withUnsafeMutableBufferPointer { sumGBuffer in
                                sumGX.withUnsafeMutableBufferPointer { sumGXBuffer -> Tensor<S>? in
                                    let rows = MaskedRows(x: xs.baseAddress!, g: gs.baseAddress!, y: ys.baseAddress!,
                                                          mean: meanBuffer.baseAddress!, inverseStd: invBuffer.baseAddress!,
                                                          rows: n, columns: c)
                                    let sg = sumGBuffer.baseAddress!, sgx = sumGXBuffer.baseAddress!
                                    rows.sum(sumG: sg, sumGX: sgx)
                                    guard wantsInput else { return nil }
                                    let scalars = withUnsafeTemporaryAllocation(of: S.self, capacity: c) { scaleBuffer in
                                        let s = scaleBuffer.baseAddress!
                                        for j in 0..<c { s[j] = inverseStd[j] }
                                        if let gamma { for j in 0..<c { s[j] *= gamma[j] } }
                                        return [S](count: count) { out in
                                            rows.inputGradient(scale: s, sumG: sg, sumGX: sgx, batchStatistics: batchStatistics,
                                                               into: out.baseAddress!)
                                        }
                                    }
                                    return try! Tensor(shape: upstream.shape, scalars: scalars)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The `[rows, columns]` buffers of a normalization's backward pass through a ReLU.
///
/// For `Float`, eight columns at a time in explicit vectors: written as a scalar select, the
/// masked gradient `y > 0 ? g : 0` compiled to a compare and a branch around the load of `g`,
/// which mispredicts on random signs (it made the step 30% slower); a vector select has no
/// branch and the same result. Each column's sums still run over the rows in row order.
private struct MaskedRows<S: BLASScalar> {
    let x: UnsafePointer<S>, g: UnsafePointer<S>, y: UnsafePointer<S>
    let mean: UnsafePointer<S>, inverseStd: UnsafePointer<S>
    let rows: Int, columns: Int

    /// `Σ g` and `Σ g·x̂` per column, in row order, with `g = y > 0 ? upstream : 0`.
    func sum(sumG sg: UnsafeMutablePointer<S>, sumGX sgx: UnsafeMutablePointer<S>) {
        let c = columns, mu = mean, inv = inverseStd
        let vectorColumns = S.self == Float.self ? c / 8 * 8 : 0
        var xRow = x, gRow = g, yRow = y
        for _ in 0..<rows {
            var j = 0
            while j < vectorColumns {
                let gj = V8.load(gRow + j).masked(by: V8.load(yRow + j))
                let xh = (V8.load(xRow + j) - V8.load(mu + j)) * V8.load(inv + j)
                (V8.load(sg + j) + gj).store(sg + j)
                (V8.load(sgx + j) + gj * xh).store(sgx + j)
                j += 8
            }
            while j < c {
                let gj = yRow[j] > 0 ? gRow[j] : 0
                let xh = (xRow[j] - mu[j]) * inv[j]
                sg[j] += gj
                sgx[j] += gj * xh
                j += 1
            }
            xRow += c
            gRow += c
            yRow += c
        }
    }

    /// The input gradient from the sums, as the unfused loop writes it.
    func inputGradient(scale s: UnsafePointer<S>, sumG sg: UnsafePointer<S>, sumGX sgx: UnsafePointer<S>,
                       batchStatistics: Bool, into out: UnsafeMutablePointer<S>) {
        let c = columns, mu = mean, inv = inverseStd
        let vectorColumns = S.self == Float.self ? c / 8 * 8 : 0
        let invN = 1 / S(rows)
        let invNV = V8(repeating: 1 / Float(rows))
        var xRow = x, gRow = g, yRow = y, d = out
        for _ in 0..<rows {
            var j = 0
            if batchStatistics {
                while j < vectorColumns {
                    let gj = V8.load(gRow + j).masked(by: V8.load(yRow + j))
                    let xh = (V8.load(xRow + j) - V8.load(mu + j)) * V8.load(inv + j)
                    (V8.load(s + j) * (gj - invNV * (V8.load(sg + j) + xh * V8.load(sgx + j)))).store(d + j)
                    j += 8
                }
                while j < c {
                    let gj = yRow[j] > 0 ? gRow[j] : 0
                    let xh = (xRow[j] - mu[j]) * inv[j]
                    d[j] = s[j] * (gj - invN * (sg[j] + xh * sgx[j]))
                    j += 1
                }
            } else {
                while j < vectorColumns {
                    (V8.load(gRow + j).masked(by: V8.load(yRow + j)) * V8.load(s + j)).store(d + j)
                    j += 8
                }
                while j < c {
                    d[j] = (yRow[j] > 0 ? gRow[j] : 0) * s[j]
                    j += 1
                }
            }
            xRow += c
            gRow += c
            yRow += c
            d += c
        }
    }
}

private typealias V8 = SIMD8<Float>

/// Eight scalars of a buffer the caller knows to hold `Float` (only called when `S` is `Float`).
extension SIMD8 where Scalar == Float {
    @inline(__always)
    fileprivate static func load<S>(_ p: UnsafePointer<S>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }

    @inline(__always)
    fileprivate static func load<S>(_ p: UnsafeMutablePointer<S>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }

    @inline(__always)
    fileprivate func store<S>(_ p: UnsafeMutablePointer<S>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
    }

    /// `output > 0 ? self : 0` per lane (``ReLUGradientKernel``'s select).
    @inline(__always)
    fileprivate func masked(by output: Self) -> Self {
        Self(repeating: 0).replacing(with: self, where: output .> Self(repeating: 0))
    }
}
