import Tensors
@testable import Training

/// Central finite differences of `f` with respect to every scalar of `x`.
func numericalGradient(of x: Tensor<Double>, step: Double = 1e-6, _ f: (Tensor<Double>) throws -> Double) rethrows -> Tensor<Double> {
    var out = x
    var probe = x
    for i in 0..<x.scalarCount {
        let original = x.scalars[i]
        probe.withUnsafeMutableBufferPointer { $0[i] = original + step }
        let up = try f(probe)
        probe.withUnsafeMutableBufferPointer { $0[i] = original - step }
        let down = try f(probe)
        probe.withUnsafeMutableBufferPointer { $0[i] = original }
        out.withUnsafeMutableBufferPointer { $0[i] = (up - down) / (2 * step) }
    }
    return out
}

/// The largest |a − b| relative to max(1, max|b|).
func relativeError(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double {
    precondition(a.shape == b.shape, "\(a.shape) vs \(b.shape)")
    var worst = 0.0
    for (x, y) in zip(a.scalars, b.scalars) { worst = max(worst, abs(x - y)) }
    return worst / max(1, b.maxAbsolute)
}

func randomTensor(_ shape: [Int], seed: UInt64, scale: Double = 1, offset: Double = 0) -> Tensor<Double> {
    var rng = SplitMix64(seed: seed)
    let count = shape.reduce(1, *)
    return try! Tensor(shape: shape, scalars: (0..<count).map { _ in rng.nextNormal() * scale + offset })
}

/// Σ r·t: a scalar whose gradient with respect to t is r (an arbitrary upstream gradient).
func weightedSum(_ t: Tensor<Double>, _ r: Tensor<Double>) -> Double {
    zip(t.scalars, r.scalars).reduce(0) { $0 + $1.0 * $1.1 }
}
