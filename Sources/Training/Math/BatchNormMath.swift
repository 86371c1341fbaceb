import Tensors

/// The arithmetic of ``BatchNormalization`` on `[N, C]` inputs, generic so gradient checks
/// can run it in `Double`. It mirrors TensorFlow's float32 expression
/// `inv = gamma * rsqrt(var + eps); y = x * inv + (beta - mean * inv)`.
enum BatchNormMath {
    /// Per-column mean and BIASED variance (divide by N), as `tf.nn.moments`. Each column is
    /// summed in row order; the loops run over raw pointers so LLVM vectorizes across the
    /// columns (independent sums, so the results are the same bits as the scalar loop).
    static func moments<S: BLASScalar>(_ x: Tensor<S>) -> (mean: [S], variance: [S]) {
        let n = x.shape[0], c = x.shape[1]
        var mean = [S](count: c) { $0.update(repeating: 0) }
        var variance = [S](count: c) { $0.update(repeating: 0) }
        guard c > 0 else { return (mean, variance) }
        x.withUnsafeBufferPointer { xs in
            mean.withUnsafeMutableBufferPointer { meanBuffer in
                variance.withUnsafeMutableBufferPointer { varianceBuffer in
                    let m = meanBuffer.baseAddress!, v = varianceBuffer.baseAddress!
                    let scale = 1 / S(n)
                    guard let first = xs.baseAddress else {
                        // No rows: 0 · (1/0) gives the NaN statistics of the scalar formula.
                        for j in 0..<c { m[j] *= scale; v[j] *= scale }
                        return
                    }
                    if let x = narrow(first, columns: c) {
                        NarrowColumnKernels.moments(x, rows: n, columns: c, mean: mutableFloat(m), variance: mutableFloat(v))
                        return
                    }
                    var row = first
                    for _ in 0..<n {
                        for j in 0..<c { m[j] += row[j] }
                        row += c
                    }
                    for j in 0..<c { m[j] *= scale }
                    row = first
                    for _ in 0..<n {
                        for j in 0..<c {
                            let d = row[j] - m[j]
                            v[j] += d * d
                        }
                        row += c
                    }
                    for j in 0..<c { v[j] *= scale }
                }
            }
        }
        return (mean, variance)
    }

    /// The moving statistic after one batch: `moving·momentum + batch·(1 − momentum)` per
    /// column, in float32 with `1 − momentum` evaluated in double first, as Keras computes it.
    static func movingAverage(_ moving: Tensor<Float>, following batch: [Float], momentum: Double) -> Tensor<Float> {
        let keep = Float(momentum)
        let take = Float(1 - momentum)
        var updated = moving
        updated.withUnsafeMutableBufferPointer { m in
            for j in m.indices { m[j] = m[j] * keep + batch[j] * take }
        }
        return updated
    }

    /// `1 / sqrt(variance + epsilon)` per column.
    /// Written over `variance`'s storage when the caller hands over the only reference.
    static func inverseStd<S: BLASScalar>(_ variance: consuming [S], epsilon: S) -> [S] {
        var values = consume variance
        values.withUnsafeMutableBufferPointer { v in
            for i in v.indices { v[i] = 1 / (v[i] + epsilon).squareRoot() }
        }
        return values
    }

    /// `y = x * inv + (beta - mean * inv)` with `inv = gamma * inverseStd`, written once
    /// into fresh storage (no copy of `x` first). With `thenReLU`, `y < 0 ? 0 : y` (ReLU's
    /// `VectorLoops.relu`) is what is written: a normalization and the ReLU layer after it in
    /// one pass (`Sequential`'s fused pair, BatchNormMath+ReLU.swift), the same bits as the two passes.
    static func normalize<S: BLASScalar>(
        _ x: Tensor<S>, mean: [S], inverseStd: [S], gamma: [S]?, beta: [S]?, thenReLU: Bool = false
    ) -> Tensor<S> {
        let c = x.shape[1]
        let count = x.scalarCount
        // Zero uninitialized capacity would write to the shared empty-array storage (a data race).
        guard count > 0 else { return x }
        // The per-column factors live on the stack for small widths: a training step of a
        // small model made two heap arrays per normalization for them.
        let scalars = withUnsafeTemporaryAllocation(of: S.self, capacity: 2 * c) { factors in
            let a = factors.baseAddress!, b = a + c
            for j in 0..<c { a[j] = inverseStd[j] }
            if let gamma { for j in 0..<c { a[j] *= gamma[j] } }
            for j in 0..<c { b[j] = (beta?[j] ?? 0) - mean[j] * a[j] }
            return x.withUnsafeBufferPointer { xs in
                [S](count: count) { out in
                    var source = xs.baseAddress!, target = out.baseAddress!
                    if thenReLU {
                        normalizeRowsThenReLU(source, rows: count / c, columns: c, a: a, b: b, into: target)
                        return
                    }
                    if let x = narrow(source, columns: c) {
                        NarrowColumnKernels.normalize(x, rows: count / c, columns: c, a: float(a), b: float(b),
                                                      into: mutableFloat(target))
                        return
                    }
                    for _ in 0..<(count / c) {
                        for j in 0..<c { target[j] = source[j] * a[j] + b[j] }
                        source += c
                        target += c
                    }
                }
            }
        }
        return try! Tensor(shape: x.shape, scalars: scalars)
    }

    /// Gradients through a normalization. With `batchStatistics` the gradient flows through
    /// the batch mean and variance (closed form
    /// `dx = gamma·inv/N · (N·g − Σg − x̂·Σ(g·x̂))`); otherwise mean and variance are constants
    /// and `dx = g·gamma·inv`. Always returns `Σ g·x̂` and `Σ g` (∂gamma, ∂beta). Column sums
    /// run in row order over raw pointers (vectorized across columns, same bits), and `dx` is
    /// written once into fresh storage.
    ///
    /// `spareGamma` and `spareBeta` are last step's results: one with `C` scalars is zeroed and
    /// summed into (when not shared, in place) instead of allocating a new array.
    ///
    /// With `reluOutput`, `upstream` is the gradient at the output of a ReLU layer that follows
    /// this normalization, and `reluOutput > 0 ? upstream : 0` (``ReLUGradientKernel``) is the
    /// `g` above, formed on the fly in both passes instead of in a pass of its own (`Sequential`'s
    /// fused pair, BatchNormMath+ReLU.swift): the same values in the same order, so the same bits.
    static func backward<S: BLASScalar>(
        x: Tensor<S>, upstream g: Tensor<S>, mean: [S], inverseStd: [S], gamma: [S]?,
        batchStatistics: Bool, wantsInput: Bool, reusingGamma spareGamma: consuming [S] = [],
        reusingBeta spareBeta: consuming [S] = [], reluOutput: Tensor<S>? = nil
    ) -> (input: Tensor<S>?, gamma: [S], beta: [S]) {
        let n = x.shape[0], c = x.shape[1]
        var sumGX = consume spareGamma, sumG = consume spareBeta
        zeroSums(&sumGX, count: c)
        zeroSums(&sumG, count: c)
        let count = x.scalarCount
        guard count > 0 else { return (wantsInput ? g : nil, sumGX, sumG) }
        if let reluOutput {
            let input = backwardThroughReLU(x: x, upstream: g, reluOutput: reluOutput, mean: mean, inverseStd: inverseStd,
                                            gamma: gamma, batchStatistics: batchStatistics, wantsInput: wantsInput,
                                            sumGX: &sumGX, sumG: &sumG)
            return (input, sumGX, sumG)
        }
        x.withUnsafeBufferPointer { xs in
            g.withUnsafeBufferPointer { gs in
                mean.withUnsafeBufferPointer { meanBuffer in
                    inverseStd.withUnsafeBufferPointer { invBuffer in
                        sumG.withUnsafeMutableBufferPointer { sumGBuffer in
                            sumGX.withUnsafeMutableBufferPointer { sumGXBuffer in
                                let mu = meanBuffer.baseAddress!, inv = invBuffer.baseAddress!
                                let sg = sumGBuffer.baseAddress!, sgx = sumGXBuffer.baseAddress!
                                var xRow = xs.baseAddress!, gRow = gs.baseAddress!
                                if let x = narrow(xRow, columns: c) {
                                    NarrowColumnKernels.gradientSums(x: x, upstream: float(gRow), rows: n, columns: c,
                                                                     mean: float(mu), inverseStd: float(inv),
                                                                     sumG: mutableFloat(sg), sumGX: mutableFloat(sgx))
                                    return
                                }
                                for _ in 0..<n {
                                    for j in 0..<c {
                                        let xh = (xRow[j] - mu[j]) * inv[j]
                                        sg[j] += gRow[j]
                                        sgx[j] += gRow[j] * xh
                                    }
                                    xRow += c
                                    gRow += c
                                }
                            }
                        }
                    }
                }
            }
        }
        guard wantsInput else { return (nil, sumGX, sumG) }
        // gamma·inv per column, on the stack for small widths (no heap array per step).
        let scalars = withUnsafeTemporaryAllocation(of: S.self, capacity: c) { scaleBuffer in
            let s = scaleBuffer.baseAddress!
            for j in 0..<c { s[j] = inverseStd[j] }
            if let gamma { for j in 0..<c { s[j] *= gamma[j] } }
            return x.withUnsafeBufferPointer { xs in
                g.withUnsafeBufferPointer { gs in
                    mean.withUnsafeBufferPointer { meanBuffer in
                        inverseStd.withUnsafeBufferPointer { invBuffer in
                            sumG.withUnsafeBufferPointer { sumGBuffer in
                                sumGX.withUnsafeBufferPointer { sumGXBuffer in
                                    [S](count: count) { out in
                                        let mu = meanBuffer.baseAddress!, inv = invBuffer.baseAddress!
                                        let sg = sumGBuffer.baseAddress!, sgx = sumGXBuffer.baseAddress!
                                        var xRow = xs.baseAddress!, gRow = gs.baseAddress!, d = out.baseAddress!
                                        if let x = narrow(xRow, columns: c) {
                                            NarrowColumnKernels.inputGradient(
                                                x: x, upstream: float(gRow), rows: n, columns: c, mean: float(mu),
                                                inverseStd: float(inv), scale: float(s), sumG: float(sg), sumGX: float(sgx),
                                                batchStatistics: batchStatistics, into: mutableFloat(d))
                                            return
                                        }
                                        let invN = 1 / S(n)
                                        for _ in 0..<n {
                                            if batchStatistics {
                                                for j in 0..<c {
                                                    let xh = (xRow[j] - mu[j]) * inv[j]
                                                    d[j] = s[j] * (gRow[j] - invN * (sg[j] + xh * sgx[j]))
                                                }
                                            } else {
                                                for j in 0..<c { d[j] = gRow[j] * s[j] }
                                            }
                                            xRow += c
                                            gRow += c
                                            d += c
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (try! Tensor(shape: g.shape, scalars: scalars), sumGX, sumG)
    }

    /// `p` as `Float` when `S` is `Float` and the input is narrow enough for
    /// ``NarrowColumnKernels`` (which give the same bits as the row-wise loops here).
    @inline(__always)
    private static func narrow<S: BLASScalar>(_ p: UnsafePointer<S>, columns: Int) -> UnsafePointer<Float>? {
        guard S.self == Float.self, columns <= NarrowColumnKernels.maximumWidth else { return nil }
        return float(p)
    }

    @inline(__always)
    private static func narrow<S: BLASScalar>(_ p: UnsafeMutablePointer<S>, columns: Int) -> UnsafePointer<Float>? {
        narrow(UnsafePointer(p), columns: columns)
    }

    /// Only called where `S` is `Float` (after ``narrow(_:columns:)``).
    @inline(__always)
    private static func float<S: BLASScalar>(_ p: UnsafePointer<S>) -> UnsafePointer<Float> {
        UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    @inline(__always)
    private static func float<S: BLASScalar>(_ p: UnsafeMutablePointer<S>) -> UnsafePointer<Float> {
        UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    @inline(__always)
    private static func mutableFloat<S: BLASScalar>(_ p: UnsafeMutablePointer<S>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    /// `count` zeros in `sums`, written over its storage when it already has that many.
    private static func zeroSums<S: BLASScalar>(_ sums: inout [S], count: Int) {
        if sums.count == count {
            sums.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        } else {
            sums = [S](repeating: 0, count: count)
        }
    }

    /// The exact mean and biased variance of every column over many batches (the
    /// population statistics BatchNormalization is re-calibrated with), accumulated in
    /// `Double`. Two accumulators per column, shifted by the first batch's column means so
    /// the sum-of-squares formula does not cancel catastrophically for large means.
    struct PopulationMoments {
        private var shift: [Double] = []
        private var sum: [Double] = []
        private var sumOfSquares: [Double] = []
        private var rows = 0

        /// Adds the rows of a `[N, C]` batch.
        mutating func add(_ h: Tensor<Float>) {
            let width = h.shape[1]
            if shift.isEmpty {
                shift = Self.columnMeans(h)
                sum = [Double](repeating: 0, count: width)
                sumOfSquares = sum
            }
            h.withUnsafeBufferPointer { buffer in
                for row in 0..<h.rowCount {
                    for column in 0..<width {
                        let centred = Double(buffer[row * width + column]) - shift[column]
                        sum[column] += centred
                        sumOfSquares[column] += centred * centred
                    }
                }
            }
            rows += h.rowCount
        }

        /// The per-column mean and biased variance, in float32; nil before any row.
        var meanAndVariance: (mean: [Float], variance: [Float])? {
            guard rows > 0 else { return nil }
            let n = Double(rows)
            let mean = sum.indices.map { Float(shift[$0] + sum[$0] / n) }
            let variance = sum.indices.map { Float(Swift.max(0, sumOfSquares[$0] / n - (sum[$0] / n) * (sum[$0] / n))) }
            return (mean, variance)
        }

        private static func columnMeans(_ h: Tensor<Float>) -> [Double] {
            let width = h.shape[1]
            var means = [Double](repeating: 0, count: width)
            h.withUnsafeBufferPointer { buffer in
                for row in 0..<h.rowCount {
                    for column in 0..<width { means[column] += Double(buffer[row * width + column]) }
                }
            }
            return means.map { $0 / Double(h.rowCount) }
        }
    }
}
