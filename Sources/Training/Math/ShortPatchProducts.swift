import CVectorKernels
import Tensors

/// A convolution's forward product and kernel gradient when its patch rows are short (at
/// most 32 taps: a grey or few-channel image's first layer, 3x3x1 = 9), computed by the AVX2
/// kernels of `CConvolutionKernels.h` instead of `Float.gemm`. With k = 9, a general product
/// spends most of such a product packing operands and moving the output through its
/// bias-filled buffer (docs/perf/conv.md: the MNIST-shape CNN's first convolution took 0.9 ms
/// forward and 2.2 ms for its kernel gradient of CPU time in OpenBLAS's sgemm).
///
/// The kernels compute each scalar in the order of Batchwise's own sgemm kernel, which
/// `Float.gemm` runs on every machine with AVX2 and FMA since stop 24 (`OwnProducts`,
/// `COwnSgemm.h`): fused multiply-adds in term order from +0, in blocks of
/// ``kernelGradientBlock`` rows for the kernel gradient (a stretch between one and two blocks
/// halved, the first half rounded up to ``kernelGradientUnroll``), the block sums added in
/// order onto +0 or the bias. The first use in a process still checks it: both kernels run once
/// against `Float.gemm` on probe products, and only when every scalar has the same bits are
/// they used (``matchesGemm``); otherwise, and without AVX2 and FMA, `Float.gemm` runs.
/// (Until stop 24 the reference was OpenBLAS's AVX-512 sgemm, whose last blocks round to 16:
/// with the own kernel as `Float.gemm` that order no longer matched anywhere, and these
/// kernels went unused until stop 26 changed the rounding to the own kernel's 8.)
enum ShortPatchProducts {
    /// The most taps per patch row the kernels take.
    static let maximumDepth = 32

    /// Products of at most this many multiply-adds stay with `Float.gemm`: there the kernels'
    /// saving is small (and the tiny-product kernel may take them).
    static let smallMatrixLimit = 1_000_000

    /// The own sgemm kernel's block of the inner dimension and the multiple the first half of a
    /// halved last stretch is rounded up to (`BLOCK` and `UNROLL` in `OwnSgemm.c`).
    static let kernelGradientBlock = 320, kernelGradientUnroll = 8

    /// Whether the forward product of `rows` patch rows of `depth` taps and `filters` filters,
    /// with a bias, goes to the short-patch kernel.
    static func takesForward(rows: Int, depth: Int, filters: Int) -> Bool {
        depth <= maximumDepth && filters % 8 == 0 && rows * depth * filters > smallMatrixLimit && matchesGemm
    }

    /// Whether the kernel gradient of `filters` filters (a run of them) over `rows` rows of
    /// `depth` taps goes to the short-patch kernel.
    static func takesKernelGradient(rows: Int, depth: Int, filters: Int) -> Bool {
        depth <= maximumDepth && filters % 8 == 0 && rows * depth * filters > smallMatrixLimit && matchesGemm
    }

    /// `out[r] = bias + patches[r]·kernel` for `rows` rows (the kernel `[depth, filters]`).
    static func forward(_ patches: UnsafePointer<Float>, rows: Int, depth: Int, kernel: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>, filters: Int, into out: UnsafeMutablePointer<Float>) {
        let done = bw_short_patch_convolution(patches, rows, depth, kernel, bias, filters, out)
        precondition(done == 1, "short-patch convolution taken without AVX2 and FMA")
    }

    /// `gradient[:, first..<first+count] = patchesᵀ·upstream[:, first..<first+count]` over `rows` rows.
    static func kernelGradient(_ patches: UnsafePointer<Float>, upstream: UnsafePointer<Float>, rows: Int, depth: Int,
                               filters: Int, run: Range<Int>, into gradient: UnsafeMutablePointer<Float>) {
        let done = bw_short_patch_kernel_gradient(patches, upstream, rows, depth, filters, run.lowerBound, run.count,
                                                  kernelGradientBlock, kernelGradientUnroll, gradient)
        precondition(done == 1, "short-patch kernel gradient taken without AVX2 and FMA")
    }

    /// Whether the kernels give `Float.gemm`'s bits on this machine: AVX2 and FMA are there, and
    /// probe products (a forward with a bias; a kernel gradient whose rows end in two split
    /// blocks) agree with `Float.gemm` on one thread, as the convolution calls it, in every
    /// scalar. With the own sgemm kernel's order on every AVX2/FMA machine, it holds on all of them.
    static let matchesGemm = matches(block: kernelGradientBlock, unroll: kernelGradientUnroll)

    /// The check behind ``matchesGemm`` with the kernel gradient summed in blocks of
    /// `block` rows, the last two rounded to `unroll` (tests: a wrong order must not match).
    static func matches(block: Int, unroll: Int) -> Bool {
        guard bw_cpu_has_avx2_fma() == 1 else { return false }
        let rows = 3_620, depth = 9, filters = 32   // 3,620 = 10·320 + 420: the last 420 rows split 216 + 204
        var generator = SplitMix64(seed: 18)
        let patches = (0..<(rows * depth)).map { _ in Float(generator.nextNormal()) }
        let upstream = (0..<(rows * filters)).map { _ in Float(generator.nextNormal()) }
        let kernel = (0..<(depth * filters)).map { _ in Float(generator.nextNormal()) }
        let bias = (0..<filters).map { _ in Float(generator.nextNormal()) }
        var viaGEMM = [Float](repeating: 0, count: rows * filters), viaKernel = viaGEMM
        var gradientViaGEMM = [Float](repeating: 0, count: depth * filters), gradientViaKernel = gradientViaGEMM
        guard bw_short_patch_convolution(patches, rows, depth, kernel, bias, filters, &viaKernel) == 1,
              bw_short_patch_kernel_gradient(patches, upstream, rows, depth, filters, 0, filters, block,
                                             unroll, &gradientViaKernel) == 1
        else { return false }
        for r in 0..<rows { for f in 0..<filters { viaGEMM[r * filters + f] = bias[f] } }
        BLASThreads.onOneThread {
            Float.gemm(transposeA: false, transposeB: false, m: rows, n: filters, k: depth, alpha: 1, a: patches, lda: depth,
                       b: kernel, ldb: filters, beta: 1, c: &viaGEMM, ldc: filters)
            Float.gemm(transposeA: true, transposeB: false, m: depth, n: filters, k: rows, alpha: 1, a: patches, lda: depth,
                       b: upstream, ldb: filters, beta: 0, c: &gradientViaGEMM, ldc: filters)
        }
        return viaGEMM.map(\.bitPattern) == viaKernel.map(\.bitPattern)
            && gradientViaGEMM.map(\.bitPattern) == gradientViaKernel.map(\.bitPattern)
    }
}
