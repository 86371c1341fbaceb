extension Tensor where Scalar: BLASScalar {
    /// The matrix product `op(a) · op(b)` of two rank-2 tensors, through ``BLASScalar``'s gemm
    /// (for `Float` on a CPU with AVX2 and FMA Batchwise's own kernel, else OpenBLAS or Accelerate).
    ///
    /// ```swift
    /// let x = try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    /// let w = try Tensor<Float>(shape: [3, 1], scalars: [1, 0, -1])
    /// try Tensor.matmul(x, w)                      // [[-2], [-2]]
    /// try Tensor.matmul(x, x, transposeB: true)    // x·xᵀ, shape [2, 2]
    /// ```
    /// - Throws: ``TensorError/rankMismatch(operation:expected:found:)`` for non-matrices,
    ///   ``TensorError/shapeMismatch(operation:expected:found:)`` when inner dimensions differ.
    public static func matmul(
        _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false
    ) throws(TensorError) -> Tensor {
        guard a.rank == 2 else { throw .rankMismatch(operation: "matmul", expected: 2, found: a.shape) }
        guard b.rank == 2 else { throw .rankMismatch(operation: "matmul", expected: 2, found: b.shape) }
        let k = transposeA ? a.shape[0] : a.shape[1]
        let kb = transposeB ? b.shape[1] : b.shape[0]
        let n = transposeB ? b.shape[0] : b.shape[1]
        guard k == kb else {
            throw .shapeMismatch(operation: "matmul inner dimension",
                                 expected: transposeB ? [n, k] : [k, n], found: b.shape)
        }
        return product(a, b, transposeA: transposeA, transposeB: transposeB)
    }

    /// `op(a) · op(b)` for shapes already known to agree, into fresh storage that gemm fills
    /// (with beta 0 BLAS never reads the output, so a large one is not zeroed first).
    @inlinable
    public static func product(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        let m = transposeA ? a.shape[1] : a.shape[0]
        let k = transposeA ? a.shape[0] : a.shape[1]
        let n = transposeB ? b.shape[0] : b.shape[1]
        guard m > 0, n > 0, k > 0 else { return Tensor(zeros: [m, n]) }
        let scalars = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                [Scalar](count: m * n) { pc in
                    Scalar.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                alpha: 1, a: pa.baseAddress!, lda: a.shape[1], b: pb.baseAddress!, ldb: b.shape[1],
                                beta: 0, c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return Tensor(uncheckedShape: [m, n], scalars: scalars)
    }

    /// Writes `op(a) · op(b)` into `out` (adding to it when `accumulate`), reusing its storage.
    ///
    /// Shapes must already agree: this is the allocation-free path for layers that checked
    /// them once when they were built.
    @inlinable
    public static func matmul(
        _ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, accumulate: Bool,
        into out: inout Tensor
    ) {
        let m = transposeA ? a.shape[1] : a.shape[0]
        let k = transposeA ? a.shape[0] : a.shape[1]
        let n = transposeB ? b.shape[0] : b.shape[1]
        precondition(out.shape == [m, n], "matmul output shape \(out.shape) is not [\(m), \(n)]")
        if m == 0 || n == 0 { return }
        if k == 0 {
            if !accumulate { out.withUnsafeMutableBufferPointer { $0.update(repeating: .zero) } }
            return
        }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    Scalar.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                alpha: 1, a: pa.baseAddress!, lda: a.shape[1],
                                b: pb.baseAddress!, ldb: b.shape[1],
                                beta: accumulate ? 1 : 0, c: pc.baseAddress!, ldc: n)
                }
            }
        }
    }
}
