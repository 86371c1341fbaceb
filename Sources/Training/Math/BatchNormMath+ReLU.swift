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
private struct MaskedRows<S: BLASScalar> {
    let x: UnsafePointer<S>, g: UnsafePointer<S>, y: UnsafePointer<S>
    let mean: UnsafePointer<S>, inverseStd: UnsafePointer<S>
    let rows: Int, columns: Int

    /// `Σ g` and `Σ g·x̂` per column, in row order, with `g = y > 0 ? upstream : 0`.
    func sum(sumG sg: UnsafeMutablePointer<S>, sumGX sgx: UnsafeMutablePointer<S>) {
        let c = columns, mu = mean, inv = inverseStd
        var xRow = x, gRow = g, yRow = y
        for _ in 0..<rows {
            for j in 0..<c {
                let gj = yRow[j] > 0 ? gRow[j] : 0
                let xh = (xRow[j] - mu[j]) * inv[j]
                sg[j] += gj
                sgx[j] += gj * xh
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
        let invN = 1 / S(rows)
        var xRow = x, gRow = g, yRow = y, d = out
        for _ in 0..<rows {
            if batchStatistics {
                for j in 0..<c {
                    let gj = yRow[j] > 0 ? gRow[j] : 0
                    let xh = (xRow[j] - mu[j]) * inv[j]
                    d[j] = s[j] * (gj - invN * (sg[j] + xh * sgx[j]))
                }
            } else {
                for j in 0..<c { d[j] = (yRow[j] > 0 ? gRow[j] : 0) * s[j] }
            }
            xRow += c
            gRow += c
            yRow += c
            d += c
        }
    }
}
