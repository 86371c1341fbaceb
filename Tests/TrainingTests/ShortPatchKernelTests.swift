#if !canImport(Accelerate)
import CBLAS
#endif
import CVectorKernels
import Testing
import Tensors
@testable import Training

/// The short-patch convolution kernels (AVX2 FMA chains in the own sgemm kernel's order)
/// against `Float.gemm` on the same patch matrices: the same bits, forward with a bias and for
/// the kernel gradient.
@Suite struct ShortPatchKernelTests {
    func floats(_ shape: [Int], seed: UInt64) -> Tensor<Float> {
        try! Tensor(shape: shape, scalars: randomTensor(shape, seed: seed).scalars.map { Float($0) })
    }

    /// How many scalars of `a` and `b` differ in their bits (a count keeps failure messages short).
    func differences(_ a: [Float], _ b: [Float]) -> Int {
        a.count == b.count ? zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count : -1
    }

    /// OpenBLAS's kernel family on this machine (`openblas_get_corename()`), e.g. "Cooperlake" or "Zen".
    var openBLASCore: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        return String(cString: openblas_get_corename())
        #endif
    }

    @Test func theKernelsAreCheckedAndTakenOnThisMachine() {
        // Without AVX2 and FMA the kernels are never taken (nothing else to check).
        guard bw_cpu_has_avx2_fma() == 1 else {
            #expect(!ShortPatchProducts.matchesGemm)
            return
        }
        // Float.gemm runs the own sgemm kernel here, whose order does not depend on the machine
        // or the OpenBLAS build: the kernels match it on every AVX2/FMA machine (openBLASCore
        // names OpenBLAS's kernel family only for the message).
        #expect(ShortPatchProducts.matchesGemm, "OpenBLAS core \(openBLASCore)")
        // A wrong order never matches: K blocks of 256 rows instead of 320, or the last stretch
        // rounded to OpenBLAS's AVX-512 16 instead of the own kernel's 8 (the order before stop 26).
        #expect(!ShortPatchProducts.matches(block: 256, unroll: ShortPatchProducts.kernelGradientUnroll))
        #expect(!ShortPatchProducts.matches(block: ShortPatchProducts.kernelGradientBlock, unroll: 16))
        // Taken exactly when the check matched, and a small product never.
        #expect(ShortPatchProducts.takesForward(rows: 128 * 26 * 26, depth: 9, filters: 32) == ShortPatchProducts.matchesGemm)
        #expect(ShortPatchProducts.takesKernelGradient(rows: 128 * 26 * 26, depth: 9, filters: 16) == ShortPatchProducts.matchesGemm)
        #expect(!ShortPatchProducts.takesForward(rows: 32 * 64, depth: 9, filters: 16))   // a small product stays with Float.gemm
    }

    struct ShortCase: Sendable, CustomStringConvertible {
        let input: [Int], filters: Int, window: Int, padding: Padding
        var description: String { "input \(input) filters \(filters) window \(window) \(padding)" }
    }

    // Products above 10^6 multiply-adds; row counts that end in partial groups of 4 and split K blocks.
    @Test(arguments: [
        ShortCase(input: [7, 28, 28, 1], filters: 32, window: 3, padding: .valid),
        ShortCase(input: [7, 23, 19, 1], filters: 40, window: 3, padding: .same),
        ShortCase(input: [4, 30, 29, 2], filters: 24, window: 3, padding: .valid),
        ShortCase(input: [4, 27, 27, 1], filters: 32, window: 5, padding: .same),
        // Large enough for the kernel gradient to split into two runs of 16 filters on two threads.
        ShortCase(input: [90, 28, 28, 1], filters: 32, window: 3, padding: .valid),
    ])
    func kernelsGiveSgemmBits(_ c: ShortCase) throws {
        let g = try WindowGeometry(input: (c.input[1], c.input[2]), window: (c.window, c.window), strides: (1, 1),
                                   padding: c.padding, layer: "test")
        let n = c.input[0], depth = c.window * c.window * c.input[3], rows = n * g.outputPositions
        #expect(rows * depth * c.filters > ShortPatchProducts.smallMatrixLimit, "\(c)")
        let x = floats(c.input, seed: 201)
        let kernel = floats([c.window, c.window, c.input[3], c.filters], seed: 202)
        let bias = floats([c.filters], seed: 203)
        let upstream = floats([n, g.outputHeight, g.outputWidth, c.filters], seed: 204)
        // The reference: im2col, then sgemm on one thread as the convolution called it before.
        var patches = [Float](repeating: 0, count: rows * depth)
        x.withUnsafeBufferPointer { xs in
            patches.withUnsafeMutableBufferPointer {
                ConvolutionMath.im2col(xs.baseAddress!, images: n, channels: c.input[3], geometry: g, into: $0.baseAddress!)
            }
        }
        var output = [Float](repeating: 0, count: rows * c.filters)
        for r in 0..<rows { for f in 0..<c.filters { output[r * c.filters + f] = bias.scalars[f] } }
        var gradient = [Float](repeating: 0, count: depth * c.filters)
        BLASThreads.onOneThread {
            Float.gemm(transposeA: false, transposeB: false, m: rows, n: c.filters, k: depth, alpha: 1, a: patches, lda: depth,
                       b: kernel.scalars, ldb: c.filters, beta: 1, c: &output, ldc: c.filters)
            Float.gemm(transposeA: true, transposeB: false, m: depth, n: c.filters, k: rows, alpha: 1, a: patches, lda: depth,
                       b: upstream.scalars, ldb: c.filters, beta: 0, c: &gradient, ldc: c.filters)
        }
        let (y, kept) = ConvolutionMath.conv2D(x, kernel: kernel, bias: bias, geometry: g, keepingPatches: true)
        #expect(differences(y.scalars, output) == 0, "\(c)")
        let result = ConvolutionMath.conv2DBackward(x: x, kernel: kernel, upstream: upstream, geometry: g, patches: kept,
                                                    wantsParameters: true, wantsBias: false, wantsInput: false)
        #expect(differences(try #require(result.kernel).scalars, gradient) == 0, "\(c)")
    }
}
