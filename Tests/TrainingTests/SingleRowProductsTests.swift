import CVectorKernels
import Testing
import Tensors
@testable import Training

/// A Dense layer at batch 1 multiplies through ``SingleRowProducts`` (no packing of its kernel)
/// with gemm's bits: the kernel against `Float.gemm` on shapes at and around each of OpenBLAS's
/// block rules, the probe refusing a kernel cut into other blocks, and the BN MLP's layers at
/// batch 1 taking the kernel with the bits of the bias-seeded gemm they used before.
@Suite struct SingleRowProductsTests {
    /// Inner dimensions one block long (up to 320), split into two halves (321 to 639), and
    /// into a block plus halves (640 on); widths with remainders of the 64- and 8-column passes.
    static let shapes: [(k: Int, n: Int)] = [(784, 256), (256, 256), (256, 10), (320, 64), (321, 9), (639, 130),
                                             (640, 8), (700, 70), (1000, 3), (1, 17), (5, 1)]

    /// Operands like the probe's: zeros of both signs, ordinary values, values a thousand times larger.
    static func operand(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            switch generator.nextIndex(below: 8) {
            case 0: return 0
            case 1: return -0.0
            case 2: return Float(generator.nextNormal()) * 1000
            default: return Float(generator.nextNormal())
            }
        }
    }

    @Test("the kernel has Float.gemm's bits, accumulating or not")
    func kernelMatchesGEMM() throws {
        try #require(bw_cpu_has_avx2_fma() == 1, "no AVX2 and FMA: the kernel is never taken")
        for (k, n) in Self.shapes {
            for accumulate in [true, false] {
                let x = Self.operand(k, seed: 1), kernel = Self.operand(k * n, seed: 2), start = Self.operand(n, seed: 3)
                var viaGEMM = start, viaKernel = start
                Float.gemm(transposeA: false, transposeB: false, m: 1, n: n, k: k, alpha: 1, a: x, lda: k, b: kernel,
                           ldb: n, beta: accumulate ? 1 : 0, c: &viaGEMM, ldc: n)
                #expect(bw_single_row_sgemm(n, k, x, kernel, n, accumulate ? 1 : 0, &viaKernel,
                                            SingleRowProducts.block, SingleRowProducts.unroll) == 1)
                let differing = zip(viaGEMM, viaKernel).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "k \(k), n \(n), accumulate \(accumulate): \(differing) of \(n) differ")
            }
        }
    }

    @Test("the probe takes the kernel's own blocks and refuses others")
    func probeRefusesOtherBlocks() throws {
        try #require(bw_cpu_has_avx2_fma() == 1, "no AVX2 and FMA: the kernel is never taken")
        #expect(SingleRowProducts.probeMatches(k: 784, n: 256, accumulate: true))
        for block in [256, 384, 784] {
            #expect(!SingleRowProducts.probeMatches(k: 784, n: 256, accumulate: true, block: block), "block \(block)")
        }
    }

    @Test("the BN MLP's Dense layers at batch 1 take the kernel, with the bits of the bias-seeded gemm")
    func denseAtBatchOneTakesTheKernel() throws {
        try #require(bw_cpu_has_avx2_fma() == 1, "no AVX2 and FMA: the kernel is never taken")
        for (inputs, units) in [(784, 256), (256, 256), (256, 10)] {
            var layer = Dense(units: units, seed: 7)
            _ = try layer.build(inputShape: [inputs], seed: 0)
            try layer.setVariable("bias", to: Tensor(shape: [units], scalars: Self.operand(units, seed: 4)))
            let x = try Tensor(shape: [1, inputs], scalars: Self.operand(inputs, seed: 5))
            var expected = try Tensor(shape: [1, units], scalars: layer.bias.scalars)
            Tensor.matmul(x, layer.kernel, transposeA: false, transposeB: false, accumulate: true, into: &expected)
            let output = try layer(x, mode: .inference)
            #expect(output.shape == [1, units])
            #expect(output.scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern), "\(inputs) -> \(units)")
            let key = SingleRowProducts.shapeKey(k: inputs, n: units, accumulate: true)
            #expect(bw_single_row_verdict(key) == 1, "\(inputs) -> \(units) stayed with gemm")
        }
    }

    @Test("a shape recorded as refused is not computed: singleRowAffine gives nil and the layer takes gemm")
    func refusedShapeStaysWithGEMM() throws {
        // A shape no other test uses, marked refused before its first use.
        let (inputs, units) = (13, 11)
        bw_single_row_record(SingleRowProducts.shapeKey(k: inputs, n: units, accumulate: true), 0)
        #expect(!SingleRowProducts.accepts(k: inputs, n: units, accumulate: true))
        var layer = Dense(units: units, seed: 7)
        _ = try layer.build(inputShape: [inputs], seed: 0)
        let x = try Tensor(shape: [1, inputs], scalars: Self.operand(inputs, seed: 5))
        #expect(DenseMath.singleRowAffine(x, kernel: layer.kernel, bias: layer.bias) == nil)
        var expected = try Tensor(shape: [1, units], scalars: layer.bias.scalars)
        Tensor.matmul(x, layer.kernel, transposeA: false, transposeB: false, accumulate: true, into: &expected)
        #expect(try layer(x, mode: .inference).scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern))
        // Sizes out of the key's range are refused without a probe.
        #expect(!SingleRowProducts.accepts(k: 0, n: 4, accumulate: false))
        #expect(!SingleRowProducts.accepts(k: 4, n: 1 << 26, accumulate: false))
    }
}
