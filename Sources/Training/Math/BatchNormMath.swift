import Tensors

/// The arithmetic of ``BatchNormalization`` on `[N, C]` inputs, generic so gradient checks
/// can run it in `Double`. It mirrors TensorFlow's float32 expression
/// `inv = gamma * rsqrt(var + eps); y = x * inv + (beta - mean * inv)`.
enum BatchNormMath {
    /// Per-column mean and BIASED variance (divide by N), as `tf.nn.moments`.
    static func moments<S: BLASScalar>(_ x: Tensor<S>) -> (mean: [S], variance: [S]) {
        let n = x.shape[0], c = x.shape[1]
        var mean = [S](repeating: 0, count: c)
        var variance = [S](repeating: 0, count: c)
        x.withUnsafeBufferPointer { xs in
            mean.withUnsafeMutableBufferPointer { m in
                variance.withUnsafeMutableBufferPointer { v in
                    var offset = 0
                    for _ in 0..<n {
                        for j in 0..<c { m[j] += xs[offset + j] }
                        offset += c
                    }
                    let scale = 1 / S(n)
                    for j in 0..<c { m[j] *= scale }
                    offset = 0
                    for _ in 0..<n {
                        for j in 0..<c {
                            let d = xs[offset + j] - m[j]
                            v[j] += d * d
                        }
                        offset += c
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
    static func inverseStd<S: BLASScalar>(_ variance: [S], epsilon: S) -> [S] {
        variance.map { 1 / ($0 + epsilon).squareRoot() }
    }

    /// `y = x * inv + (beta - mean * inv)` with `inv = gamma * inverseStd`.
    static func normalize<S: BLASScalar>(
        _ x: Tensor<S>, mean: [S], inverseStd: [S], gamma: [S]?, beta: [S]?
    ) -> Tensor<S> {
        let c = x.shape[1]
        var inv = inverseStd
        if let gamma { for j in 0..<c { inv[j] *= gamma[j] } }
        var shift = [S](repeating: 0, count: c)
        for j in 0..<c { shift[j] = (beta?[j] ?? 0) - mean[j] * inv[j] }
        var y = x
        y.withUnsafeMutableBufferPointer { ys in
            inv.withUnsafeBufferPointer { a in
                shift.withUnsafeBufferPointer { b in
                    var offset = 0
                    while offset < ys.count {
                        for j in 0..<c { ys[offset + j] = ys[offset + j] * a[j] + b[j] }
                        offset += c
                    }
                }
            }
        }
        return y
    }

    /// Gradients through a normalization. With `batchStatistics` the gradient flows through
    /// the batch mean and variance (closed form
    /// `dx = gamma·inv/N · (N·g − Σg − x̂·Σ(g·x̂))`); otherwise mean and variance are constants
    /// and `dx = g·gamma·inv`. Always returns `Σ g·x̂` and `Σ g` (∂gamma, ∂beta).
    static func backward<S: BLASScalar>(
        x: Tensor<S>, upstream g: Tensor<S>, mean: [S], inverseStd: [S], gamma: [S]?,
        batchStatistics: Bool, wantsInput: Bool
    ) -> (input: Tensor<S>?, gamma: [S], beta: [S]) {
        let n = x.shape[0], c = x.shape[1]
        var sumG = [S](repeating: 0, count: c)
        var sumGX = [S](repeating: 0, count: c)
        x.withUnsafeBufferPointer { xs in
            g.withUnsafeBufferPointer { gs in
                var offset = 0
                for _ in 0..<n {
                    for j in 0..<c {
                        let xh = (xs[offset + j] - mean[j]) * inverseStd[j]
                        sumG[j] += gs[offset + j]
                        sumGX[j] += gs[offset + j] * xh
                    }
                    offset += c
                }
            }
        }
        guard wantsInput else { return (nil, sumGX, sumG) }
        var scale = inverseStd
        if let gamma { for j in 0..<c { scale[j] *= gamma[j] } }
        var dx = g
        x.withUnsafeBufferPointer { xs in
            dx.withUnsafeMutableBufferPointer { d in
                var offset = 0
                if batchStatistics {
                    let invN = 1 / S(n)
                    for _ in 0..<n {
                        for j in 0..<c {
                            let xh = (xs[offset + j] - mean[j]) * inverseStd[j]
                            d[offset + j] = scale[j] * (d[offset + j] - invN * (sumG[j] + xh * sumGX[j]))
                        }
                        offset += c
                    }
                } else {
                    while offset < d.count {
                        for j in 0..<c { d[offset + j] *= scale[j] }
                        offset += c
                    }
                }
            }
        }
        return (dx, sumGX, sumG)
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
