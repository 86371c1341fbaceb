import Tensors

/// Per-channel loops over `[rows, C]` `Float` buffers (NHWC images seen as one row per
/// pixel), in explicit 8-lane vectors across the channels: the convolution bias gradient and
/// the NHWC BatchNormalization passes.
///
/// Each channel still accumulates its rows one after another in row order, and every lane
/// evaluates the same expression as the scalar reference, so the results are bit for bit those
/// of ``/Tensors/Tensor/sumAlongBatch()`` and ``BatchNormMath`` (without FMA contraction, which
/// Swift does not do). Channels past the last multiple of 8 take the scalar expression.
enum ChannelKernels {
    /// Σ over rows of each channel, in row order. O(rows·C).
    static func columnSums(_ x: UnsafePointer<Float>, rows: Int, channels: Int) -> [Float] {
        var sums = [Float](repeating: 0, count: channels)
        sums.withUnsafeMutableBufferPointer { s in
            guard let total = s.baseAddress else { return }
            var row = x
            for _ in 0..<rows {
                var j = 0
                while j + 8 <= channels {
                    store(load(total + j) + load(row + j), total + j)
                    j += 8
                }
                while j < channels {
                    total[j] += row[j]
                    j += 1
                }
                row += channels
            }
        }
        return sums
    }

    /// Per-channel mean and BIASED variance, as ``BatchNormMath/moments(_:)``. O(rows·C), two passes.
    static func moments(_ x: UnsafePointer<Float>, rows: Int, channels: Int) -> (mean: [Float], variance: [Float]) {
        var mean = columnSums(x, rows: rows, channels: channels)
        let scale = 1 / Float(rows)
        for j in 0..<channels { mean[j] *= scale }
        var variance = [Float](repeating: 0, count: channels)
        mean.withUnsafeBufferPointer { m in
            variance.withUnsafeMutableBufferPointer { v in
                guard let means = m.baseAddress, let total = v.baseAddress else { return }
                var row = x
                for _ in 0..<rows {
                    var j = 0
                    while j + 8 <= channels {
                        let d = load(row + j) - load(means + j)
                        store(load(total + j) + d * d, total + j)
                        j += 8
                    }
                    while j < channels {
                        let d = row[j] - means[j]
                        total[j] += d * d
                        j += 1
                    }
                    row += channels
                }
            }
        }
        for j in 0..<channels { variance[j] *= scale }
        return (mean, variance)
    }

    /// `y = x·factor + shift` per channel, into a new buffer of `rows·C` scalars. O(rows·C).
    static func affine(_ x: UnsafePointer<Float>, rows: Int, channels: Int, factor: [Float], shift: [Float]) -> [Float] {
        let count = rows * channels
        // Zero uninitialized capacity would write to the shared empty-array storage (a data race).
        guard count > 0 else { return [] }
        return factor.withUnsafeBufferPointer { a in
            shift.withUnsafeBufferPointer { b in
                [Float](unsafeUninitializedCapacity: count) { out, initialized in
                    let factors = a.baseAddress!, shifts = b.baseAddress!, output = out.baseAddress!
                    // Large passes in runs of rows side by side (each row on its own, so the same bits).
                    ParallelParts.forEach(rows: rows, parts: ParallelParts.automatic(rows: rows, width: channels)) { run in
                        var row = x + run.lowerBound * channels, target = output + run.lowerBound * channels
                        for _ in run {
                            var j = 0
                            while j + 8 <= channels {
                                store(load(row + j) * load(factors + j) + load(shifts + j), target + j)
                                j += 8
                            }
                            while j < channels {
                                target[j] = row[j] * factors[j] + shifts[j]
                                j += 1
                            }
                            row += channels
                            target += channels
                        }
                    }
                    initialized = count
                }
            }
        }
    }

    /// `Σ g` and `Σ g·x̂` per channel with `x̂ = (x − mean)·inverseStd`, as the first pass of
    /// ``BatchNormMath/backward(x:upstream:mean:inverseStd:gamma:batchStatistics:wantsInput:)``. O(rows·C).
    static func normalizedGradientSums(x: UnsafePointer<Float>, upstream g: UnsafePointer<Float>, rows: Int, channels: Int,
                                       mean: [Float], inverseStd: [Float]) -> (sumG: [Float], sumGX: [Float]) {
        var sumG = [Float](repeating: 0, count: channels)
        var sumGX = [Float](repeating: 0, count: channels)
        mean.withUnsafeBufferPointer { m in
            inverseStd.withUnsafeBufferPointer { s in
                sumG.withUnsafeMutableBufferPointer { sg in
                    sumGX.withUnsafeMutableBufferPointer { sgx in
                        guard let means = m.baseAddress, let inverses = s.baseAddress,
                              let totalG = sg.baseAddress, let totalGX = sgx.baseAddress else { return }
                        var row = x, gradient = g
                        for _ in 0..<rows {
                            var j = 0
                            while j + 8 <= channels {
                                let xh = (load(row + j) - load(means + j)) * load(inverses + j)
                                let gv = load(gradient + j)
                                store(load(totalG + j) + gv, totalG + j)
                                store(load(totalGX + j) + gv * xh, totalGX + j)
                                j += 8
                            }
                            while j < channels {
                                let xh = (row[j] - means[j]) * inverses[j]
                                totalG[j] += gradient[j]
                                totalGX[j] += gradient[j] * xh
                                j += 1
                            }
                            row += channels
                            gradient += channels
                        }
                    }
                }
            }
        }
        return (sumG, sumGX)
    }

    /// The input gradient through batch statistics,
    /// `scale·(g − (1/N)·(Σg + x̂·Σ(g·x̂)))` per channel, into a new buffer. O(rows·C).
    static func batchStatisticsInputGradient(x: UnsafePointer<Float>, upstream g: UnsafePointer<Float>, rows: Int, channels: Int,
                                             mean: [Float], inverseStd: [Float], scale: [Float],
                                             sumG: [Float], sumGX: [Float]) -> [Float] {
        let count = rows * channels
        guard count > 0 else { return [] }
        let invN = SIMD8<Float>(repeating: 1 / Float(rows)), scalarInvN = 1 / Float(rows)
        return withPointers(mean, inverseStd, scale, sumG, sumGX) { means, inverses, scales, totalG, totalGX in
            [Float](unsafeUninitializedCapacity: count) { out, initialized in
                let output = out.baseAddress!
                // Large passes in runs of rows side by side (each row on its own, so the same bits).
                ParallelParts.forEach(rows: rows, parts: ParallelParts.automatic(rows: rows, width: channels)) { run in
                    let offset = run.lowerBound * channels
                    var row = x + offset, gradient = g + offset, target = output + offset
                    for _ in run {
                        var j = 0
                        while j + 8 <= channels {
                            let xh = (load(row + j) - load(means + j)) * load(inverses + j)
                            let correction = invN * (load(totalG + j) + xh * load(totalGX + j))
                            store(load(scales + j) * (load(gradient + j) - correction), target + j)
                            j += 8
                        }
                        while j < channels {
                            let xh = (row[j] - means[j]) * inverses[j]
                            target[j] = scales[j] * (gradient[j] - scalarInvN * (totalG[j] + xh * totalGX[j]))
                            j += 1
                        }
                        row += channels
                        gradient += channels
                        target += channels
                    }
                }
                initialized = count
            }
        }
    }

    /// Calls `body` with the base addresses of five non-empty arrays.
    private static func withPointers<R>(
        _ a: [Float], _ b: [Float], _ c: [Float], _ d: [Float], _ e: [Float],
        _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>) -> R
    ) -> R {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeBufferPointer { pc in
                    d.withUnsafeBufferPointer { pd in
                        e.withUnsafeBufferPointer { pe in
                            body(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, pd.baseAddress!, pe.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func store(_ value: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: value, as: SIMD8<Float>.self)
    }
}
