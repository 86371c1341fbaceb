import CVectorKernels
import Tensors

/// A Dense layer's product at batch 1, `z (+)= x · kernel` for one row `x`, through the kernel
/// of `CSingleRowProducts.h` instead of sgemm. sgemm packs its whole first operand into a
/// buffer of its own on every call, and at batch 1 the 784-256-256-10 MLP's first layer is
/// 200,704 multiply-adds on an 800 KB kernel: packing it cost about as much as the arithmetic
/// (docs/perf/layers.md, stop 22). The kernel reads the layer's kernel where it is.
///
/// Its order of summation is OpenBLAS 0.3.21's on this machine (Zen and Haswell kernels: the
/// inner dimension cut into blocks of ``block``, halves rounded to ``unroll``; see the
/// header). That order is OpenBLAS's, not a documented one, so like ``/Tensors`` tiny
/// products every shape is probed on its first use in the process: the kernel and `Float.gemm`
/// (the path the layer took before) multiply the same random operands, and only a shape whose
/// every output has gemm's bits goes to the kernel from then on. Other shapes, other BLAS
/// libraries and machines without AVX2 and FMA stay with gemm.
enum SingleRowProducts {
    /// OpenBLAS's GEMM_Q for sgemm on these kernels: how many inner terms one block sums.
    static let block = 320
    /// OpenBLAS's GEMM_UNROLL_M for sgemm on these kernels: a split block's first half is a
    /// multiple of it.
    static let unroll = 8

    /// Whether `multiply` takes this shape: probes it on its first use in the process and
    /// remembers the verdict. Callers ask before they allocate an output, so a shape that stays
    /// with gemm costs one table lookup a call and nothing else.
    static func accepts(k: Int, n: Int, accumulate: Bool) -> Bool {
        guard n > 0, k > 0, n < 1 << 26, k < 1 << 26 else { return false }
        let key = shapeKey(k: k, n: n, accumulate: accumulate)
        var verdict = bw_single_row_verdict(key)
        // -1: not probed yet; -2: the table is full, so the shape stays with gemm unprobed.
        if verdict == -1 {
            let matches = probeMatches(k: k, n: n, accumulate: accumulate)
            bw_single_row_record(key, matches ? 1 : 0)
            verdict = matches ? 1 : 0
        }
        return verdict == 1
    }

    /// Writes `x · kernel` (plus `c`'s values when `accumulate`) into `c` for `x` of `k`
    /// scalars, `kernel` `[k, n]` row-major and `c` of `n`, and returns true; returns false
    /// without touching `c` when the shape is not one ``accepts(k:n:accumulate:)`` takes (or
    /// the kernel cannot run).
    static func multiply(_ x: UnsafePointer<Float>, kernel: UnsafePointer<Float>, k: Int, n: Int,
                         accumulate: Bool, into c: UnsafeMutablePointer<Float>) -> Bool {
        accepts(k: k, n: n, accumulate: accumulate)
            && bw_single_row_sgemm(n, k, x, kernel, n, accumulate ? 1 : 0, c, block, unroll) == 1
    }

    /// A nonzero key for the verdict table: each size is below 2^26.
    static func shapeKey(k: Int, n: Int, accumulate: Bool) -> UInt64 {
        UInt64(n) | UInt64(k) << 26 | (accumulate ? 1 << 52 : 0)
    }

    /// Whether the kernel, cutting the inner dimension into blocks of `block` (tests pass
    /// another to check that the probe notices a wrong order), gives `Float.gemm`'s bits for
    /// this shape on three sets of operands. They mix zeros of both signs (where a plain add
    /// and an FMA from +0 part), ordinary values and values a thousand times larger, so that a
    /// sum in another order or cut elsewhere rounds differently.
    static func probeMatches(k: Int, n: Int, accumulate: Bool, block: Int = Self.block) -> Bool {
        var generator = SplitMix64(seed: 22)
        func operand(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                let bits = generator.next()
                let value = Float(Int32(truncatingIfNeeded: bits >> 32)) * 0x1p-31
                switch bits & 7 {
                case 0: return 0
                case 1: return -0.0
                case 2: return value * 1000
                default: return value
                }
            }
        }
        for _ in 0..<3 {
            let x = operand(k), kernel = operand(k * n), start = operand(n)
            var viaGEMM = start, viaKernel = start
            Float.gemm(transposeA: false, transposeB: false, m: 1, n: n, k: k, alpha: 1, a: x, lda: k, b: kernel, ldb: n,
                       beta: accumulate ? 1 : 0, c: &viaGEMM, ldc: n)
            guard bw_single_row_sgemm(n, k, x, kernel, n, accumulate ? 1 : 0, &viaKernel, block, unroll) == 1,
                  viaGEMM.map(\.bitPattern) == viaKernel.map(\.bitPattern)
            else { return false }
        }
        return true
    }
}
