import Testing
@testable import Tensors

/// Stop 20: a large `beta` 0 product is made as a zero fill of its outputs and a `beta` 1 call
/// (``SplitPlan/zeroFills``), whole or in parts, only where ``SplitProbe`` saw that give the
/// `beta` 0 call's bits. Each product here must have the bits of one `beta` 0 `cblas_sgemm`
/// call on 1, 2 and 3 parts and whole inside a one-thread scope, also when its output holds
/// NaN before the call (`beta` 0 never reads it, so a zero fill must cover every output).
/// Since stop 24 `Float.gemm` takes these products to the own sgemm (``OwnProducts``), which
/// needs no zero fill; the OpenBLAS path is tested here directly, as `Float.gemm` takes it
/// without AVX2 and FMA (and for `Double`).
@Suite struct BLASZeroFillTests {
    static let cases = [
        // The BN MLP's beta-0 products: the kernel gradients xᵀ·dz and an input gradient dz·Wᵀ.
        GEMMCase(m: 784, k: 128, n: 256, transposeA: true, transposeB: false, beta: 0),
        GEMMCase(m: 256, k: 128, n: 256, transposeA: true, transposeB: false, beta: 0),
        GEMMCase(m: 128, k: 256, n: 256, transposeA: false, transposeB: true, beta: 0),
        // Odd sizes (no multiples of 12 or 16), an inner dimension above the block depth, both transposes.
        GEMMCase(m: 129, k: 300, n: 203, transposeA: false, transposeB: false, beta: 0),
        GEMMCase(m: 97, k: 700, n: 301, transposeA: true, transposeB: true, beta: 0),
        GEMMCase(m: 301, k: 97, n: 131, transposeA: true, transposeB: false, beta: 0),
    ]

    @Test(arguments: cases)
    func aZeroFilledProductHasTheBetaZeroCallsBits(_ c: GEMMCase) {
        var operands = c.operands(seed: 51)
        operands.initial = [Float](repeating: .nan, count: c.m * c.n)
        let reference = BLASThreadsTests.oneCallBits(c, operands, viaOpenBLAS: true)
        #expect(!reference.contains { Float(bitPattern: $0).isNaN })
        for parts in [1, 2, 3] {
            let same = BLASThreads.$forcedParts.withValue(parts) { c.productBits(operands, viaOpenBLAS: true) } == reference
            #expect(same, "\(c) in \(parts) parts")
        }
        let whole = BLASThreads.onOneThread { c.productBits(operands, viaOpenBLAS: true) } == reference
        #expect(whole, "\(c) whole")
        #if !canImport(Darwin)
        // On OpenBLAS a transposed product never takes a direct or small-matrix kernel, so its
        // beta kernel only writes zeros: every plan of the shape must zero-fill.
        if c.transposeA || c.transposeB {
            let plans = SplitProbe.known.filter { $0.key.m == c.m && $0.key.n == c.n && $0.key.k == c.k && $0.key.betaKind == 0 }
            #expect(!plans.isEmpty && plans.values.allSatisfy { $0?.zeroFills == true }, "\(c): \(plans.values)")
        }
        #endif
    }

    /// Only large `alpha` 1, `beta` 0 products are probed for a zero fill: other `alpha`s
    /// could differ from the `beta` 0 call in the sign of a zero sum, which the probe's
    /// operands would not show, and small products skip the look-up.
    @Test func onlyLargeAlphaOneBetaZeroProductsAreZeroFilled() {
        let plan = SplitProbe.probe(transposeA: true, transposeB: false, m: 256, n: 256, k: 128, alpha: Float(1), beta: Float(0),
                                    parts: 1, gemm: Float.cblasGEMM)
        #if !canImport(Darwin)
        #expect(plan == SplitPlan(split: nil, columnMajor: false, zeroFills: true))
        #endif
        #expect(SplitProbe.probe(transposeA: true, transposeB: false, m: 256, n: 256, k: 128, alpha: Float(-1), beta: Float(0),
                                 parts: 1, gemm: Float.cblasGEMM) == nil)
        #expect(SplitProbe.probe(transposeA: true, transposeB: false, m: 256, n: 256, k: 128, alpha: Float(1), beta: Float(1),
                                 parts: 1, gemm: Float.cblasGEMM) == nil)
        #expect(BLASThreads.zeroFillMultiplyAdds == 1 << 21)
    }
}
