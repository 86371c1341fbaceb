import CBLAS

/// A floating-point scalar that BLAS multiplies: `Float` (sgemm) and `Double` (dgemm).
///
/// Layers are written against this protocol so the same code runs in `Float` for training
/// and in `Double` for finite-difference gradient checks.
///
/// ```swift
/// let c = try Tensor<Double>.matmul(a, b, transposeA: true)   // aᵀ·b through dgemm
/// ```
public protocol BLASScalar: TensorScalar, BinaryFloatingPoint {
    /// `c = alpha · op(a) · op(b) + beta · c` on row-major buffers; `op` transposes when asked.
    /// `m × k` times `k × n` gives `m × n`; `lda`, `ldb`, `ldc` are the row strides as stored.
    /// `Float` with `alpha` 1 and `beta` 0 or 1 on a CPU with AVX2 and FMA runs Batchwise's own
    /// kernel, whose order of summation per scalar is documented (`OwnProducts`); every other
    /// product runs OpenBLAS's (Accelerate's) gemm. Either way a product's bits do not depend
    /// on the thread count (``BLASThreads``).
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// `exp(x)` from the C library, so that `Float` is not widened to `Double` on the way
    /// (Foundation's generic math would be slower and round differently).
    static func exponential(_ x: Self) -> Self
    /// `log(x)`, the natural logarithm.
    static func logarithm(_ x: Self) -> Self
    /// `log(1 + x)`, accurate for small `x` (the crossentropies need it near probability 1).
    static func logarithmOnePlus(_ x: Self) -> Self
    /// `tanh(x)`.
    static func hyperbolicTangent(_ x: Self) -> Self
}

extension Float: BLASScalar {
    @inlinable @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // alpha 1, beta 0 or 1 (every product a layer makes): tiny products (a small model's
        // step) through the tiny-product kernel where a probe of their shape showed it gives the
        // own kernel's bits (TinyProducts), the others through Batchwise's own kernel, split
        // over threads with the same bits for any cut (OwnProducts). Other products, and every
        // product on a machine without AVX2 and FMA, go to OpenBLAS.
        if alpha == 1, beta == 0 || beta == 1 {
            if TinyProducts.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda,
                                     b: b, ldb: ldb, accumulate: beta == 1, c: c, ldc: ldc)
                || OwnProducts.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda,
                                        b: b, ldb: ldb, accumulate: beta == 1, c: c, ldc: ldc) {
                return
            }
        }
        openBLASGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                     b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// ``gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` through OpenBLAS
    /// whatever the size (split over threads where ``SplitProbe`` found a cut that keeps the bits).
    @inlinable @inline(__always)
    static func openBLASGemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // Large products are split over threads of our own where that keeps their bits (BLASThreads).
        BLASThreads.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                             b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, gemm: cblasGEMM)
    }

    /// One `cblas_sgemm` call on row-major buffers, through the column-major interface with the
    /// operands swapped when `columnMajor` (the same computation, never the direct kernel).
    @usableFromInline
    static func cblasGEMM(
        columnMajor: Bool, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let (opA, opB) = (transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans)
        if columnMajor {
            cblas_sgemm(CblasColMajor, opB, opA, Int32(n), Int32(m), Int32(k), alpha, b, Int32(ldb), a, Int32(lda),
                        beta, c, Int32(ldc))
        } else {
            cblas_sgemm(CblasRowMajor, opA, opB, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                        beta, c, Int32(ldc))
        }
    }
    @inlinable public static func exponential(_ x: Float) -> Float { _expf(x) }
    @inlinable public static func logarithm(_ x: Float) -> Float { _logf(x) }
    @inlinable public static func logarithmOnePlus(_ x: Float) -> Float { _log1pf(x) }
    @inlinable public static func hyperbolicTangent(_ x: Float) -> Float { _tanhf(x) }
}

extension Double: BLASScalar {
    @inlinable @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        // Large products are split over threads of our own where that keeps their bits (BLASThreads).
        BLASThreads.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                             b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, gemm: cblasGEMM)
    }

    /// One `cblas_dgemm` call on row-major buffers (column-major with the operands swapped when
    /// `columnMajor`; dgemm has no direct kernel, so both forms compute the same).
    @usableFromInline
    static func cblasGEMM(
        columnMajor: Bool, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        let (opA, opB) = (transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans)
        if columnMajor {
            cblas_dgemm(CblasColMajor, opB, opA, Int32(n), Int32(m), Int32(k), alpha, b, Int32(ldb), a, Int32(lda),
                        beta, c, Int32(ldc))
        } else {
            cblas_dgemm(CblasRowMajor, opA, opB, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                        beta, c, Int32(ldc))
        }
    }
    @inlinable public static func exponential(_ x: Double) -> Double { _exp(x) }
    @inlinable public static func logarithm(_ x: Double) -> Double { _log(x) }
    @inlinable public static func logarithmOnePlus(_ x: Double) -> Double { _log1p(x) }
    @inlinable public static func hyperbolicTangent(_ x: Double) -> Double { _tanh(x) }
}

/// The operands of the part of `c = op(a) · op(b)` that computes the outputs in `rows` and
/// `columns` (row-major, strides unchanged): the part's rows of `op(a)`, its columns of
/// `op(b)` and its corner of `c`. The whole inner dimension stays in every part.
@inlinable @inline(__always)
func partOperands<S>(
    transposeA: Bool, transposeB: Bool, rows: Range<Int>, columns: Range<Int>,
    a: UnsafePointer<S>, lda: Int, b: UnsafePointer<S>, ldb: Int, c: UnsafeMutablePointer<S>, ldc: Int
) -> (UnsafePointer<S>, UnsafePointer<S>, UnsafeMutablePointer<S>) {
    (a + (transposeA ? rows.lowerBound : rows.lowerBound * lda),
     b + (transposeB ? columns.lowerBound * ldb : columns.lowerBound),
     c + rows.lowerBound * ldc + columns.lowerBound)
}
