import Tensors

/// The loops synchronized BatchNormalization runs on each segment of a global batch
/// (BatchNormalization+GlobalBatch.swift), over raw pointers so that LLVM vectorizes them across
/// the columns. Each column is still summed in row order, one row after the other, with the
/// float operations of the loops they replace (Swift arrays indexed by `offset + j`, whose
/// bounds and overflow checks kept the loops scalar: 9–14 instructions a value, a callgrind
/// profile of `batchwise-bench distributed --work-rows 128`, docs/distributed.md "Stop 25"), so
/// the results are the same bits. `x` is `[rows, columns]`, row-major.
extension BatchNormMath {
    /// `Σ x` per column, rows in order (``BatchNormMath/moments(_:)``'s first loop).
    static func columnSums(_ x: Tensor<Float>) -> [Float] {
        let rows = x.shape[0], columns = x.shape[1]
        return [Float](count: columns) { sums in
            let s = sums.baseAddress!
            s.update(repeating: 0, count: columns)
            x.withUnsafeBufferPointer { xs in
                guard var row = xs.baseAddress else { return }
                for _ in 0..<rows {
                    for j in 0..<columns { s[j] += row[j] }
                    row += columns
                }
            }
        }
    }

    /// `Σ (x − mean)` and `Σ (x − mean)²` per column, rows in order.
    static func centredSumsAndSquares(_ x: Tensor<Float>, mean: [Float]) -> (sums: [Float], squares: [Float]) {
        let rows = x.shape[0], columns = x.shape[1]
        var squares: [Float] = []
        let sums = [Float](count: columns) { sumsBuffer in
            squares = [Float](count: columns) { squaresBuffer in
                let s = sumsBuffer.baseAddress!, q = squaresBuffer.baseAddress!
                s.update(repeating: 0, count: columns)
                q.update(repeating: 0, count: columns)
                x.withUnsafeBufferPointer { xs in
                    mean.withUnsafeBufferPointer { meanBuffer in
                        guard var row = xs.baseAddress, let m = meanBuffer.baseAddress else { return }
                        for _ in 0..<rows {
                            for j in 0..<columns {
                                let d = row[j] - m[j]
                                s[j] += d
                                q[j] += d * d
                            }
                            row += columns
                        }
                    }
                }
            }
        }
        return (sums, squares)
    }

    /// `Σ (x − mean)²` per column, rows in order (``BatchNormMath/moments(_:)``'s second loop):
    /// the squares of ``centredSumsAndSquares(_:mean:)``, whose extra sum costs one addition a value.
    static func centredSquares(_ x: Tensor<Float>, mean: [Float]) -> [Float] {
        centredSumsAndSquares(x, mean: mean).squares
    }

    /// `dx = scale · (g − (Σg + x̂·Σ(g·x̂)) / count)` with `x̂ = (x − mean)·inverseStd`,
    /// `scale = gamma·inverseStd` and the global batch's sums and row count `count`, written
    /// once into fresh storage (the former loop copied `g` first and wrote over the copy).
    static func inputGradient(x: Tensor<Float>, upstream: Tensor<Float>, mean: [Float], inverseStd: [Float],
                              gamma: [Float]?, sumG: [Float], sumGX: [Float], count: Int) -> Tensor<Float> {
        let rows = x.shape[0], columns = x.shape[1]
        let total = rows * columns
        guard total > 0 else { return upstream }
        var scale = inverseStd
        if let gamma { for j in 0..<columns { scale[j] *= gamma[j] } }
        let invN = 1 / Float(count)
        let scalars = x.withUnsafeBufferPointer { xs in
            upstream.withUnsafeBufferPointer { gs in
                mean.withUnsafeBufferPointer { meanBuffer in
                    inverseStd.withUnsafeBufferPointer { invBuffer in
                        scale.withUnsafeBufferPointer { scaleBuffer in
                            sumG.withUnsafeBufferPointer { sumGBuffer in
                                sumGX.withUnsafeBufferPointer { sumGXBuffer in
                                    [Float](count: total) { out in
                                        let mu = meanBuffer.baseAddress!, inv = invBuffer.baseAddress!, s = scaleBuffer.baseAddress!
                                        let sg = sumGBuffer.baseAddress!, sgx = sumGXBuffer.baseAddress!
                                        var xRow = xs.baseAddress!, gRow = gs.baseAddress!, d = out.baseAddress!
                                        for _ in 0..<rows {
                                            for j in 0..<columns {
                                                let xh = (xRow[j] - mu[j]) * inv[j]
                                                d[j] = s[j] * (gRow[j] - invN * (sg[j] + xh * sgx[j]))
                                            }
                                            xRow += columns
                                            gRow += columns
                                            d += columns
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return try! Tensor(shape: upstream.shape, scalars: scalars)
    }
}
