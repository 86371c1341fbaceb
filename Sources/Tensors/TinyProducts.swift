import CVectorKernels

/// Single-precision products of at most ``maximumMultiplyAdds`` multiply-adds, computed by the
/// AVX2 kernel of `CTinyProducts.h` instead of sgemm. A batch-32 step of a small model (the
/// seed model: Dense(8) on one feature, Dense(1) on eight) makes six products of 256
/// multiply-adds, and OpenBLAS spent about 2,200 instructions on each, almost all of it in its
/// interface and kernel dispatch (docs/perf/layers.md).
///
/// The kernel sums each output as a fused multiply-add chain in order from zero and then adds
/// it to the old output when accumulating (to +0 otherwise): for up to 320 terms that is the
/// order of the product path it stands in for, Batchwise's own kernel (``OwnProducts``; OpenBLAS
/// 0.3.21 sums such products in that order too on this machine). Every shape is still probed on
/// its first use in the process, against the path the product would take without this kernel
/// (`Float.blockedGemm`: the own kernel, or OpenBLAS on a machine without AVX2 and FMA, whose
/// small-matrix kernels choose their order by shape and transposition): both multiply the same
/// random operands (with zeros of both signs and values of very different sizes), and only a
/// shape whose every output has that path's bits goes to the kernel from then on (a shape of
/// more than 320 terms, whose own-kernel order is blocked, does not). Other shapes, and every
/// product without AVX2 and FMA, stay with that path.
@usableFromInline
enum TinyProducts {
    /// The largest product (m·n·k) the kernel takes: beyond a few thousand multiply-adds the
    /// blocked sgemm kernel's speed outweighs its per-call work.
    @usableFromInline static let maximumMultiplyAdds = 4096

    /// `c = op(a)·op(b)` (plus `c` when `accumulate`) through the kernel, when the shape is
    /// tiny and its probe matched `Float.blockedGemm`; false, without touching `c`, otherwise.
    @usableFromInline
    static func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) -> Bool {
        guard m > 0, n > 0, k > 0, m * n * k <= maximumMultiplyAdds else { return false }
        let key = shapeKey(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, accumulate: accumulate)
        var verdict = bw_tiny_sgemm_verdict(key)
        // -1: not probed yet; -2: not probed and the table is full (more than 768 tiny shapes
        // in one process), so the shape stays with sgemm rather than being probed every call.
        if verdict == -1 {
            let matches = probeMatches(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                       accumulate: accumulate)
            bw_tiny_sgemm_record(key, matches ? 1 : 0)
            verdict = matches ? 1 : 0
        }
        guard verdict == 1 else { return false }
        return bw_tiny_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, a, lda, b, ldb,
                             accumulate ? 1 : 0, c, ldc, 0) == 1
    }

    /// A nonzero key for the verdict table: each size is at most 4096 (13 bits).
    static func shapeKey(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, accumulate: Bool) -> UInt64 {
        UInt64(m) | UInt64(n) << 13 | UInt64(k) << 26
            | (transposeA ? 1 << 39 : 0) | (transposeB ? 1 << 40 : 0) | (accumulate ? 1 << 41 : 0)
    }

    /// Whether the kernel (summing in reverse when `reversed`, which tests use to check that
    /// the probe notices a wrong order) gives `Float.blockedGemm`'s bits for this shape on three sets of
    /// operands, packed as a layer stores them. Operands mix zeros of both signs (a zero
    /// product's sign is where a plain multiply and an FMA from +0 part), ordinary values and
    /// values a thousand times larger, so that any other order of the sums rounds differently.
    static func probeMatches(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, accumulate: Bool,
                             reversed: Bool = false) -> Bool {
        var generator = SplitMix64(seed: 19)
        func operand(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                switch generator.nextIndex(below: 8) {
                case 0: return 0
                case 1: return -0.0
                case 2: return Float(generator.nextNormal()) * 1000
                default: return Float(generator.nextNormal())
                }
            }
        }
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        for _ in 0..<3 {
            let a = operand(m * k), b = operand(k * n), start = operand(m * n)
            var viaGEMM = start, viaKernel = start
            Float.blockedGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                              a: a, lda: lda, b: b, ldb: ldb, beta: accumulate ? 1 : 0, c: &viaGEMM, ldc: n)
            guard bw_tiny_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, a, lda, b, ldb,
                                accumulate ? 1 : 0, &viaKernel, n, reversed ? 1 : 0) == 1,
                  viaGEMM.map(\.bitPattern) == viaKernel.map(\.bitPattern)
            else { return false }
        }
        return true
    }
}
