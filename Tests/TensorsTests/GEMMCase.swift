@testable import Tensors

/// One `Float.gemm` case of the BLAS tests: shapes, transposes and `beta`, with seeded operands.
struct GEMMCase: Sendable, CustomStringConvertible {
    let m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool, beta: Float
    var description: String { "\(m)x\(k)x\(n) tA \(transposeA) tB \(transposeB) beta \(beta)" }

    /// Normal random `a` (as stored: `[k, m]` when transposed), `b` and the output's initial values.
    func operands(seed: UInt64) -> (a: [Float], b: [Float], initial: [Float]) {
        var rng = SplitMix64(seed: seed)
        let a = (0..<(m * k)).map { _ in Float(rng.nextNormal()) }
        let b = (0..<(k * n)).map { _ in Float(rng.nextNormal()) }
        return (a, b, (0..<(m * n)).map { _ in Float(rng.nextNormal()) })
    }

    /// The bits of `beta · initial + op(a) · op(b)` through `Float.gemm`, as the settings now
    /// stand, or (`viaOpenBLAS`) through its OpenBLAS path (``SplitProbe``'s plans), which
    /// `Float.gemm` takes for other `alpha`s and `beta`s and on machines without AVX2 and FMA.
    func productBits(_ operands: (a: [Float], b: [Float], initial: [Float]), viaOpenBLAS: Bool = false) -> [UInt32] {
        var out = operands.initial
        operands.a.withUnsafeBufferPointer { pa in
            operands.b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    let (a, b, c) = (pa.baseAddress!, pb.baseAddress!, pc.baseAddress!)
                    let (lda, ldb) = (transposeA ? m : k, transposeB ? k : n)
                    if viaOpenBLAS {
                        Float.openBLASGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                                           a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: n)
                    } else {
                        Float.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                                   a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: n)
                    }
                }
            }
        }
        return out.map(\.bitPattern)
    }
}
