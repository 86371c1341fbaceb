import Tensors

/// The affine map of ``Dense``, generic so gradient checks can run it in `Double`.
enum DenseMath {
    /// Products of at most this many multiply-adds are small: their bookkeeping, not their
    /// arithmetic, is what a step pays for.
    static let smallProduct = 1 << 15

    /// `z = x · kernel + bias` for x `[N, in]`, kernel `[in, out]`, bias `[out]`.
    static func affine<S: BLASScalar>(_ x: Tensor<S>, kernel: Tensor<S>, bias: Tensor<S>?) -> Tensor<S> {
        let n = x.shape[0], units = kernel.shape[1]
        if n == 1, let z = singleRowAffine(x, kernel: kernel, bias: bias) { return z }
        guard let bias, n > 0 else { return Tensor.product(x, kernel) }
        // Seeding the output rows with the bias lets gemm add the product in one pass. The
        // first row is the bias, then the rows written so far are copied after themselves
        // (1, 2, 4, ... rows): a few copies instead of one per row, which a small batch's
        // narrow layer paid about 25 instructions each for.
        let seeded = bias.withUnsafeBufferPointer { b in
            [S](count: n * units) { out in
                let first = out.baseAddress!
                first.update(from: b.baseAddress!, count: units)
                var filled = units
                let total = n * units
                while filled < total {
                    let count = Swift.min(filled, total - filled)
                    (first + filled).update(from: first, count: count)
                    filled += count
                }
            }
        }
        var z = Tensor(uncheckedShape: [n, units], scalars: seeded)
        Tensor.matmul(x, kernel, transposeA: false, transposeB: false, accumulate: true, into: &z)
        return z
    }

    /// ``affine(_:kernel:bias:)`` of one row in `Float` through ``SingleRowProducts`` (the
    /// same bits as gemm, without packing the kernel every call); nil when its probe did not
    /// match gemm for this shape, or for `Double`.
    static func singleRowAffine<S: BLASScalar>(_ x: Tensor<S>, kernel: Tensor<S>, bias: Tensor<S>?) -> Tensor<S>? {
        guard S.self == Float.self, x.shape[0] == 1 else { return nil }
        let k = kernel.shape[0], units = kernel.shape[1]
        // Ask first: a shape that stays with gemm should not pay for an output it throws away.
        guard SingleRowProducts.accepts(k: k, n: units, accumulate: bias != nil) else { return nil }
        var computed = false
        let scalars = x.withUnsafeBufferPointer { px in
            kernel.withUnsafeBufferPointer { pk in
                [S](count: units) { out in
                    if let bias { bias.withUnsafeBufferPointer { out.baseAddress!.update(from: $0.baseAddress!, count: units) } }
                    computed = SingleRowProducts.multiply(
                        UnsafeRawPointer(px.baseAddress!).assumingMemoryBound(to: Float.self),
                        kernel: UnsafeRawPointer(pk.baseAddress!).assumingMemoryBound(to: Float.self), k: k, n: units,
                        accumulate: bias != nil, into: UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: Float.self))
                }
            }
        }
        return computed ? Tensor(uncheckedShape: [1, units], scalars: scalars) : nil
    }

    /// Gradients of the affine map from ∂L/∂z: ∂kernel = xᵀ·dz and ∂bias = Σ dz are written
    /// into the given buffers (reused when they already have the right shape and are not
    /// shared, so steady-state training allocates no gradient storage); returns ∂x = dz·kernelᵀ.
    static func backward<S: BLASScalar>(
        x: Tensor<S>, kernel: Tensor<S>, dz: Tensor<S>,
        kernelGradient: inout Tensor<S>?, biasGradient: inout Tensor<S>?,
        wantsParameters: Bool, wantsBias: Bool, wantsInput: Bool
    ) -> Tensor<S>? {
        // A training step frees and allocates its 100 KB+ activations again every step: keep
        // that memory in the process instead of faulting it in anew (see FreedMemoryRetention).
        FreedMemoryRetention.engage()
        if wantsParameters, wantsInput,
           let dx = backwardSideBySide(x: x, kernel: kernel, dz: dz, kernelGradient: &kernelGradient,
                                       biasGradient: &biasGradient, wantsBias: wantsBias) {
            return dx
        }
        if wantsParameters {
            if var dk = kernelGradient, dk.shape == kernel.shape {
                kernelGradient = nil   // drop our reference so the write below needs no copy
                Tensor.matmul(x, dz, transposeA: true, transposeB: false, accumulate: false, into: &dk)
                kernelGradient = dk
            } else {
                kernelGradient = Tensor.product(x, dz, transposeA: true)
            }
            if wantsBias { columnSums(dz, into: &biasGradient) } else { biasGradient = nil }
        } else {
            kernelGradient = nil
            biasGradient = nil
        }
        guard wantsInput else { return nil }
        return inputGradient(dz, kernel: kernel, shapedLike: x)
    }

    /// `∂x = dz·kernelᵀ`: `Tensor.product(dz, kernel, transposeB: true)`, but for small
    /// products (up to ``smallProduct`` multiply-adds) the same sgemm call writes into storage
    /// shaped as `x` by sharing its shape array: a small model's step allocated a new one for
    /// every input gradient. Large products keep `Tensor.product`'s path.
    static func inputGradient<S: BLASScalar>(_ dz: Tensor<S>, kernel: Tensor<S>, shapedLike x: Tensor<S>) -> Tensor<S> {
        let m = dz.shape[0], k = dz.shape[1], n = kernel.shape[0]
        guard m > 0, n > 0, k > 0, m * n * k <= smallProduct, x.shape.count == 2, x.shape[0] == m, x.shape[1] == n else {
            return Tensor.product(dz, kernel, transposeB: true)
        }
        let scalars = dz.withUnsafeBufferPointer { pa in
            kernel.withUnsafeBufferPointer { pb in
                [S](count: m * n) { pc in
                    S.gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: pa.baseAddress!, lda: k,
                           b: pb.baseAddress!, ldb: k, beta: 0, c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return Tensor(uncheckedShape: x.shape, scalars: scalars)   // m·n scalars, x is [m, n]
    }

    /// `Σ dz` over the rows, in row order (as `sumAlongBatch`), into `spare`: overwritten in
    /// place when it holds a `[C]` tensor whose storage nothing else shares, else replaced.
    static func columnSums<S: BLASScalar>(_ dz: Tensor<S>, into spare: inout Tensor<S>?) {
        let columns = dz.shape[1]
        // (Comparing shapes with an array literal would allocate on every call.)
        guard var sums = spare, sums.rank == 1, sums.shape[0] == columns, columns > 0 else {
            spare = try! dz.sumAlongBatch()
            return
        }
        // Drop the optional's reference before writing, as for the kernel gradient: handing
        // the optional over as a consuming argument left a second reference to the storage
        // alive, and the write below copied it every step.
        spare = nil
        dz.withUnsafeBufferPointer { rows in
            sums.withUnsafeMutableBufferPointer { out in
                let total = out.baseAddress!
                if S.self == Float.self, columns <= NarrowColumnKernels.maximumWidth, let first = rows.baseAddress {
                    // Few columns: eight at a time in registers, each still summed in row order.
                    NarrowColumnKernels.columnSums(UnsafeRawPointer(first).assumingMemoryBound(to: Float.self),
                                                   rows: dz.shape[0], columns: columns,
                                                   into: UnsafeMutableRawPointer(total).assumingMemoryBound(to: Float.self))
                    return
                }
                total.update(repeating: 0, count: columns)
                guard var row = rows.baseAddress else { return }
                for _ in 0..<dz.shape[0] {
                    for c in 0..<columns { total[c] += row[c] }
                    row += columns
                }
            }
        }
        spare = sums
    }

    /// Glorot-uniform kernel: U(-L, L) with L = sqrt(6 / (fanIn + fanOut)), row-major `[in, out]`.
    static func glorotUniform(fanIn: Int, fanOut: Int, seed: UInt64) -> Tensor<Float> {
        glorotUniform(shape: [fanIn, fanOut], fanIn: fanIn, fanOut: fanOut, seed: seed)
    }

    /// Glorot-uniform values of any shape (a convolution kernel `[kh, kw, in, out]` has
    /// fan-in `kh·kw·in` and fan-out `kh·kw·out`), drawn in row-major order.
    static func glorotUniform(shape: [Int], fanIn: Int, fanOut: Int, seed: UInt64) -> Tensor<Float> {
        var rng = SplitMix64(seed: seed)
        let limit = (6.0 / Double(fanIn + fanOut)).squareRoot()
        let values = (0..<shape.reduce(1, *)).map { _ in Float((2 * rng.nextUniform() - 1) * limit) }
        return try! Tensor(shape: shape, scalars: values)
    }
}
