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
        // Small products stay on the calling thread (BLASThreads), except those whose OpenBLAS path depends on the thread count.
        BLASThreads.multiply(multiplyAdds: m * n * k,
                             directEligible: !transposeA && !transposeB && alpha == 1 && beta == 0) {
            cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                        transposeB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
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
        // Small products stay on the calling thread (BLASThreads).
        BLASThreads.multiply(multiplyAdds: m * n * k, directEligible: false) {
            cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                        transposeB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                        beta, c, Int32(ldc))
        }
    }
    @inlinable public static func exponential(_ x: Double) -> Double { _exp(x) }
    @inlinable public static func logarithm(_ x: Double) -> Double { _log(x) }
    @inlinable public static func logarithmOnePlus(_ x: Double) -> Double { _log1p(x) }
    @inlinable public static func hyperbolicTangent(_ x: Double) -> Double { _tanh(x) }
}
