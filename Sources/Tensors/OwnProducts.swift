import CVectorKernels
import Synchronization

/// Single-precision products `c = op(a)·op(b)` (plus `c` when accumulating) through Batchwise's
/// own AVX2/FMA kernel (`COwnSgemm.h`) instead of sgemm: what `Float.gemm` does with `alpha`
/// 1 and `beta` 0 or 1 on a machine with AVX2 and FMA, for every product the tiny-product kernel
/// does not take (docs/perf/layers.md, stops 23 and 24).
///
/// **Its bits do not depend on where a product is cut.** Each output scalar is summed in an
/// order fixed by the inner dimension `k` alone: `k` in blocks (320 terms while 640 or more
/// remain, a stretch between 320 and 640 halved, the first half rounded up to 8), one fused
/// multiply-add chain from +0 per block in term order, and the block sums added to the old value
/// (accumulating) or to +0 in block order. The kernel keeps every scalar in its own vector lane
/// and pads short tiles with zeros, so a scalar's bits do not depend on its row, its column, the
/// part of the output computed, the transposes or the thread. So a large product is split over
/// ``ProductWorkers`` into runs of columns (or of rows, for narrow products) with **no probe**:
/// any cut gives the whole call's bits by construction (`OwnSgemmTests` checks every row and
/// column cut against an independent Swift reference of that order). That is unlike the OpenBLAS
/// path (``SplitProbe``), where a scalar's bits depend on its place in the library's tiles.
///
/// The bits are this order's on every x86-64 machine with AVX2 and FMA, whatever the OpenBLAS
/// build. Without AVX2 and FMA, products stay with OpenBLAS (other bits, as before).
@usableFromInline
enum OwnProducts {
    /// Whether this machine runs the kernel (AVX2 and FMA, asked once).
    @usableFromInline static let available = bw_cpu_has_avx2_fma() == 1

    /// Column runs of a split product are multiples of the kernel's 16-column panels, so that
    /// no part packs or computes a panel only partly.
    static let columnAlignment = 16

    /// Row runs are multiples of the kernel's 6-row tiles.
    static let rowAlignment = 6

    /// Products with more rows than this many times their columns are cut by rows (``split(m:n:k:parts:)``).
    static let rowsPerColumnForColumnCuts = 4

    /// `c = op(a)·op(b)` (plus `c` when `accumulate`) through the kernel, split over the product
    /// workers when ``BLASThreads/parts(m:n:k:)`` allows it; false, without touching `c`, when
    /// the machine lacks AVX2 and FMA.
    @usableFromInline
    static func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) -> Bool {
        guard available else { return false }
        guard let parts = BLASThreads.parts(m: m, n: n, k: k), let split = split(m: m, n: n, k: k, parts: parts) else {
            return computePart(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                               accumulate: accumulate, c: c, ldc: ldc, rows: 0..<m, columns: 0..<n)
        }
        let operands = SharedOperands(a: a, b: b, c: c)
        let failed = Atomic<Bool>(false)
        ProductWorkers.forEachPart(split.cuts.count - 1) { index in
            let run = split.cuts[index]..<split.cuts[index + 1]
            let computed = computePart(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                       a: operands.a, lda: lda, b: operands.b, ldb: ldb, accumulate: accumulate,
                                       c: operands.c, ldc: ldc, rows: split.byRows ? run : 0..<m,
                                       columns: split.byRows ? 0..<n : run)
            if !computed { failed.store(true, ordering: .relaxed) }
        }
        // The kernel refuses only without AVX2 and FMA or with sizes out of range, which the
        // first part would have met before touching memory, as every part does.
        return !failed.load(ordering: .relaxed)
    }

    /// The outputs in `rows` x `columns` of the product through the kernel on the calling thread.
    @inline(__always)
    static func computePart(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Range<Int>, columns: Range<Int>
    ) -> Bool {
        bw_own_sgemm_part(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, a, lda, b, ldb, accumulate ? 1 : 0, c, ldc,
                          rows.lowerBound, rows.upperBound, columns.lowerBound, columns.upperBound) == 1
    }

    /// How a product of `m × n` outputs and `k` terms is cut into at most `parts` runs: columns
    /// in multiples of ``columnAlignment`` when every part gets at least two panels and there
    /// are at most ``rowsPerColumnForColumnCuts`` times as many rows as columns (each part then
    /// packs only its own columns of `op(b)`, but reads all of `op(a)`; stop 23 measured column
    /// halves as the fastest two-thread mode of every BN-MLP product, up to dW1's 784 x 256),
    /// else rows in multiples of ``rowAlignment`` (a tall narrow product, as a convolution's
    /// im2col product, 15,488 x 64 in the MNIST CNN, where a column cut would read the large
    /// `op(a)` once per part while a row cut packs the small `op(b)` once per part). Each part
    /// has more than ``BLASThreads/minimumPartMultiplyAdds``; `nil`: too small to cut. Speed
    /// only: any cut has the same bits.
    static func split(m: Int, n: Int, k: Int, parts: Int) -> BLASThreads.Split? {
        if n >= 2 * columnAlignment * parts, m <= rowsPerColumnForColumnCuts * n,
           let cuts = BLASThreads.alignedCuts(length: n, alignment: columnAlignment, otherSide: m, k: k, parts: parts) {
            return .init(byRows: false, cuts: cuts)
        }
        if let cuts = BLASThreads.alignedCuts(length: m, alignment: rowAlignment, otherSide: n, k: k, parts: parts) {
            return .init(byRows: true, cuts: cuts)
        }
        return nil
    }
}

extension Float {
    /// ``gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` without the tiny-product
    /// kernel: the own kernel where it applies, else OpenBLAS. The reference the tiny-product
    /// kernel is probed against, so a tiny product has the bits the own kernel would give it.
    @usableFromInline
    static func blockedGemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if alpha == 1, beta == 0 || beta == 1,
           OwnProducts.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda,
                                b: b, ldb: ldb, accumulate: beta == 1, c: c, ldc: ldc) {
            return
        }
        openBLASGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                     b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}

/// The buffers of a product, shared with the threads that compute its parts (each part writes
/// its own outputs only).
private struct SharedOperands: @unchecked Sendable {
    let a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>
}
