import Tensors

/// An elementwise (or, for softmax, per-row) activation function, as used by ``Dense`` and
/// ``ActivationLayer``.
///
/// ```swift
/// let dense = Dense(units: 4, activation: .softmax)
/// var z = try Tensor<Float>(shape: [1, 3], scalars: [1000, 1000, 999])
/// Activation.softmax.apply(inPlace: &z)     // [0.4223, 0.4223, 0.1554], no overflow
/// ```
public enum Activation: String, Sendable, Hashable, CaseIterable {
    /// Keras's `linear` (identity), `relu`, `sigmoid`, `tanh` and `softmax` (over the features of each row).
    case linear, relu, sigmoid, tanh, softmax

    /// Applies the activation to an `[N, C]` tensor in place; softmax works on each row
    /// after subtracting its maximum, so large logits do not overflow.
    public func apply<S: BLASScalar>(inPlace values: inout Tensor<S>) {
        if self == .linear { return }
        if self == .relu {
            values = applied(to: values)
            return
        }
        let columns = values.shape.last ?? 1
        values.withUnsafeMutableBufferPointer { x in
            switch self {
            case .linear: break
            case .relu:
                break   // handled out of place above
            case .sigmoid:
                for i in x.indices { x[i] = 1 / (1 + S.exponential(-x[i])) }
            case .tanh:
                for i in x.indices { x[i] = S.hyperbolicTangent(x[i]) }
            case .softmax:
                guard columns > 0 else { return }
                var offset = 0
                while offset < x.count {
                    var top = x[offset]
                    for c in 1..<columns where x[offset + c] > top { top = x[offset + c] }
                    var total: S = 0
                    for c in 0..<columns {
                        let e = S.exponential(x[offset + c] - top)
                        x[offset + c] = e
                        total += e
                    }
                    for c in 0..<columns { x[offset + c] /= total }
                    offset += columns
                }
            }
        }
    }

    /// The activation of an `[N, C]` tensor as a new tensor (one pass, no copy of the input).
    public func applied<S: BLASScalar>(to values: Tensor<S>) -> Tensor<S> {
        let count = values.scalarCount
        if self == .sigmoid, count > 0 {
            // Written once into fresh storage, as `apply(inPlace:)` computes it, instead of a
            // copy of the input that is then overwritten.
            let scalars = values.withUnsafeBufferPointer { x in
                [S](count: count) { out in
                    // Float sigmoids eight at a time, where that gives these bits (SigmoidKernel).
                    if S.self == Float.self, let source = x.baseAddress, let target = out.baseAddress,
                       SigmoidKernel.sigmoid(UnsafeRawPointer(source).assumingMemoryBound(to: Float.self),
                                             into: UnsafeMutableRawPointer(target).assumingMemoryBound(to: Float.self),
                                             count: count) {
                        return
                    }
                    for i in 0..<count { out[i] = 1 / (1 + S.exponential(-x[i])) }
                }
            }
            return Tensor(uncheckedShape: values.shape, scalars: scalars)   // as many scalars as `values`
        }
        guard self == .relu else {
            var out = values
            apply(inPlace: &out)
            return out
        }
        // Zero uninitialized capacity would write to the shared empty-array storage (a data race).
        guard count > 0 else { return values }
        let scalars = values.withUnsafeBufferPointer { x in
            [S](unsafeUninitializedCapacity: count) { out, initialized in
                if let source = x.baseAddress, let target = out.baseAddress {
                    // Large activations (conv layers) in runs side by side; each scalar on its own, so the same bits.
                    ParallelParts.forEach(rows: count, parts: ParallelParts.automatic(rows: count, width: 1)) { run in
                        VectorLoops.relu(source + run.lowerBound, into: target + run.lowerBound, count: run.count)
                    }
                }
                initialized = count
            }
        }
        return try! Tensor(shape: values.shape, scalars: scalars)
    }

    /// Turns `gradient` (∂L/∂output) into ∂L/∂input in place, given the activation's output.
    public func backward<S: BLASScalar>(output: Tensor<S>, gradient: inout Tensor<S>) {
        if self == .linear { return }
        let columns = output.shape.last ?? 1
        output.withUnsafeBufferPointer { y in
            gradient.withUnsafeMutableBufferPointer { g in
                switch self {
                case .linear: break
                case .relu:
                    guard let gp = g.baseAddress, let yp = y.baseAddress else { return }
                    VectorLoops.reluBackward(gp, output: yp, count: g.count)
                case .sigmoid:
                    for i in g.indices { g[i] *= y[i] * (1 - y[i]) }
                case .tanh:
                    for i in g.indices { g[i] *= 1 - y[i] * y[i] }
                case .softmax:
                    guard columns > 0 else { return }
                    var offset = 0
                    while offset < g.count {
                        var dot: S = 0
                        for c in 0..<columns { dot += g[offset + c] * y[offset + c] }
                        for c in 0..<columns { g[offset + c] = y[offset + c] * (g[offset + c] - dot) }
                        offset += columns
                    }
                }
            }
        }
    }

    /// The Keras spelling (`"relu"`, `"softmax"`, ...).
    public var kerasName: String { rawValue }
}
