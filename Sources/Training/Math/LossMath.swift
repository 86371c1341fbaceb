import Tensors

/// Loss values and gradients, generic so gradient checks can run them in `Double`.
/// Every loss is a mean over the batch; BCE and MSE first average over the last axis.
enum LossMath {
    /// The loss's value and its gradient with respect to `p`, after checking that `p` and `y`
    /// fit the loss. The gradient is written over `p`'s storage when the caller hands over the only reference
    /// (a training step passes its logits so), otherwise into a copy.
    static func valueAndGradient<S: BLASScalar>(
        _ loss: Loss, predictions p: consuming Tensor<S>, targets y: Tensor<S>
    ) throws -> (value: S, gradient: Tensor<S>) {
        guard p.rank == 2, p.shape[0] > 0, p.shape[1] > 0 else {
            throw TrainingError.targetsMismatch(loss: loss.kerasName, predictions: p.shape, targets: y.shape)
        }
        let n = p.shape[0], c = p.shape[1]
        if loss.kind == .sparseCategoricalCrossentropy {
            guard y.scalarCount == n, y.rank >= 1, y.shape[0] == n else {
                throw TrainingError.targetsMismatch(loss: loss.kerasName, predictions: p.shape, targets: y.shape)
            }
            var labels = [Int](repeating: 0, count: n)
            for (i, raw) in y.scalars.enumerated() {
                guard raw >= 0, raw < S(c), raw.rounded() == raw else {
                    throw TrainingError.invalidLabel(loss: loss.kerasName, row: i, label: Float(raw), classes: c)
                }
                labels[i] = Int(raw)
            }
            return sparse(consume p, labels: labels, fromLogits: loss.fromLogits)
        }
        guard y.scalarCount == p.scalarCount, y.rank >= 1, y.shape[0] == n else {
            throw TrainingError.targetsMismatch(loss: loss.kerasName, predictions: p.shape, targets: y.shape)
        }
        switch loss.kind {
        case .binaryCrossentropy: return binary(consume p, y, fromLogits: loss.fromLogits)
        case .categoricalCrossentropy: return categorical(consume p, y, fromLogits: loss.fromLogits)
        case .meanSquaredError: return meanSquared(consume p, y)
        case .sparseCategoricalCrossentropy: fatalError("handled above")
        }
    }


    @inline(__always) static func clipped<S: BLASScalar>(_ v: S) -> (value: S, inside: Bool) {
        let lo = S(1e-7 as Float), hi = 1 - S(1e-7 as Float)
        if v < lo { return (lo, false) }
        if v > hi { return (hi, false) }
        return (v, true)
    }

    static func binary<S: BLASScalar>(_ p: consuming Tensor<S>, _ y: Tensor<S>, fromLogits: Bool) -> (value: S, gradient: Tensor<S>) {
        let count = p.scalarCount
        let scale = 1 / S(count)
        var total = 0.0
        var grad = consume p
        y.withUnsafeBufferPointer { ys in
            grad.withUnsafeMutableBufferPointer { g in
                for i in 0..<count {
                    let t = ys[i]
                    if fromLogits {
                        let z = g[i]
                        // One exponential per scalar: exp(−|z|) is exp(−z) when z ≥ 0 (also −0)
                        // and exp(z) when z < 0, the same arguments, so the same bits.
                        let e = S.exponential(-abs(z))
                        let per = max(z, 0) - z * t + S.logarithmOnePlus(e)
                        total += Double(per)
                        let sig = z >= 0 ? 1 / (1 + e)
                            : z < 0 ? e / (1 + e)
                            : S.exponential(z) / (1 + S.exponential(z))   // NaN: its own sign and payload
                        g[i] = (sig - t) * scale
                    } else {
                        let (q, inside) = clipped(g[i])
                        let per = -(t * S.logarithm(q) + (1 - t) * S.logarithm(1 - q))
                        total += Double(per)
                        g[i] = inside ? (-(t / q) + (1 - t) / (1 - q)) * scale : 0
                    }
                }
            }
        }
        return (S(total / Double(count)), grad)
    }

    static func categorical<S: BLASScalar>(_ p: consuming Tensor<S>, _ y: Tensor<S>, fromLogits: Bool) -> (value: S, gradient: Tensor<S>) {
        let n = p.shape[0], c = p.shape[1]
        let scale = 1 / S(n)
        var total = 0.0
        var grad = consume p
        y.withUnsafeBufferPointer { ys in
            grad.withUnsafeMutableBufferPointer { g in
                for row in 0..<n {
                    let o = row * c
                    if fromLogits {
                        let lse = logSumExp(g, offset: o, count: c)
                        var targetSum: S = 0
                        var per: S = 0
                        for k in 0..<c { per += ys[o + k] * (lse - g[o + k]); targetSum += ys[o + k] }
                        total += Double(per)
                        for k in 0..<c { g[o + k] = (S.exponential(g[o + k] - lse) * targetSum - ys[o + k]) * scale }
                    } else {
                        var s: S = 0
                        for k in 0..<c { s += g[o + k] }
                        var per: S = 0
                        var dot: S = 0
                        var upstream = [S](repeating: 0, count: c)
                        for k in 0..<c {
                            let q = g[o + k] / s
                            let (qc, inside) = clipped(q)
                            per -= ys[o + k] * S.logarithm(qc)
                            upstream[k] = inside ? -ys[o + k] / qc : 0
                            dot += upstream[k] * q
                        }
                        total += Double(per)
                        for k in 0..<c { g[o + k] = (upstream[k] - dot) / s * scale }
                    }
                }
            }
        }
        return (S(total / Double(n)), grad)
    }

    static func sparse<S: BLASScalar>(_ p: consuming Tensor<S>, labels: [Int], fromLogits: Bool) -> (value: S, gradient: Tensor<S>) {
        let n = p.shape[0], c = p.shape[1]
        let scale = 1 / S(n)
        var total = 0.0
        var grad = consume p
        grad.withUnsafeMutableBufferPointer { g in
            for row in 0..<n {
                let o = row * c, label = labels[row]
                if fromLogits {
                    let lse = logSumExp(g, offset: o, count: c)
                    total += Double(lse - g[o + label])
                    for k in 0..<c { g[o + k] = S.exponential(g[o + k] - lse) * scale }
                    g[o + label] -= scale
                } else {
                    var s: S = 0
                    for k in 0..<c { s += clipped(g[o + k]).value }
                    let target = clipped(g[o + label]).value
                    total += Double(S.logarithm(s) - S.logarithm(target))
                    for k in 0..<c {
                        let (q, inside) = clipped(g[o + k])
                        let d = 1 / s - (k == label ? 1 / q : 0)
                        g[o + k] = inside ? d * scale : 0
                    }
                }
            }
        }
        return (S(total / Double(n)), grad)
    }

    static func meanSquared<S: BLASScalar>(_ p: consuming Tensor<S>, _ y: Tensor<S>) -> (value: S, gradient: Tensor<S>) {
        let count = p.scalarCount
        let scale = 2 / S(count)
        var total = 0.0
        var grad = consume p
        y.withUnsafeBufferPointer { ys in
            grad.withUnsafeMutableBufferPointer { g in
                for i in 0..<count {
                    let d = g[i] - ys[i]
                    total += Double(d * d)
                    g[i] = d * scale
                }
            }
        }
        return (S(total / Double(count)), grad)
    }

    @inline(__always)
    static func logSumExp<S: BLASScalar>(_ z: UnsafeMutableBufferPointer<S>, offset: Int, count: Int) -> S {
        var top = z[offset]
        for k in 1..<count where z[offset + k] > top { top = z[offset + k] }
        var sum: S = 0
        for k in 0..<count { sum += S.exponential(z[offset + k] - top) }
        return top + S.logarithm(sum)
    }
}
