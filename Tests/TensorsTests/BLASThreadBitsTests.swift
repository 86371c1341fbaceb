import Testing
@testable import Tensors

/// Stop 19: every product has the bits of one unsplit single-threaded call for the same
/// arguments (the own sgemm's, or OpenBLAS's for other `beta`s and without AVX2 and FMA),
/// whatever the number of threads it may use and whatever another thread does:
/// shapes with inner dimensions above OpenBLAS's block depth (400, 512, 700), whose bits
/// OpenBLAS's own threads change, in every transpose, untransposed with beta 0 (OpenBLAS's
/// direct-kernel case on AVX-512 machines) and odd sizes.
extension BLASThreadsTests {
    static let deepCases = [400, 512, 700].flatMap { k in
        [GEMMCase(m: 128, k: k, n: 256, transposeA: false, transposeB: false, beta: 0),
         GEMMCase(m: 128, k: k, n: 256, transposeA: false, transposeB: false, beta: 1),
         GEMMCase(m: 256, k: k, n: 128, transposeA: true, transposeB: false, beta: 0),
         GEMMCase(m: 97, k: k, n: 301, transposeA: false, transposeB: true, beta: 1),
         GEMMCase(m: 200, k: k, n: 17, transposeA: true, transposeB: true, beta: 0.5)]
    }

    /// The product in one unsplit call on the calling thread: the own sgemm for `alpha` 1 and
    /// `beta` 0 or 1 on a machine with AVX2 and FMA (``OwnProducts``), else one `cblas_sgemm`
    /// call (OpenBLAS is at one thread for the process), as also when `viaOpenBLAS`.
    static func oneCallBits(_ c: GEMMCase, _ operands: (a: [Float], b: [Float], initial: [Float]),
                            viaOpenBLAS: Bool = false) -> [UInt32] {
        BLASThreads.ensureOneLibraryThread()
        var out = operands.initial
        let (lda, ldb) = (c.transposeA ? c.m : c.k, c.transposeB ? c.k : c.n)
        if !viaOpenBLAS, c.beta == 0 || c.beta == 1, OwnProducts.available {
            let done = OwnProducts.computePart(transposeA: c.transposeA, transposeB: c.transposeB, m: c.m, n: c.n, k: c.k,
                                               a: operands.a, lda: lda, b: operands.b, ldb: ldb, accumulate: c.beta == 1,
                                               c: &out, ldc: c.n, rows: 0..<c.m, columns: 0..<c.n)
            #expect(done)
        } else {
            Float.cblasGEMM(columnMajor: false, transposeA: c.transposeA, transposeB: c.transposeB, m: c.m, n: c.n, k: c.k,
                            alpha: 1, a: operands.a, lda: lda, b: operands.b, ldb: ldb, beta: c.beta, c: &out, ldc: c.n)
        }
        return out.map(\.bitPattern)
    }

    @Test(arguments: deepCases)
    func aProductHasTheOneCallBitsOnAnyNumberOfThreads(_ c: GEMMCase) {
        let operands = c.operands(seed: 31)
        let reference = Self.oneCallBits(c, operands)
        #expect(BLASThreads.libraryThreadCount == 1)
        for parts in [1, 2, 3] {
            let bits = BLASThreads.$forcedParts.withValue(parts) { c.productBits(operands) }
            // A Bool, so a failure does not print two long arrays.
            let same = bits == reference
            #expect(same, "\(c) on \(parts) threads")
        }
        for (maximum, limit) in [(1, 1 << 22), (2, 0), (2, 1 << 22)] {
            let same = with(maximum: maximum, limit: limit) { c.productBits(operands) } == reference
            #expect(same, "\(c) with maximum \(maximum), limit \(limit)")
        }
    }

    /// The deep products keep the one-call bits in every round while another thread opens
    /// one-thread scopes and multiplies (``stressed(_:rounds:)``), with the split on.
    @Test(.timeLimit(.minutes(2)))
    func deepProductsKeepTheOneCallBitsUnderConcurrentScopes() {
        with(maximum: 2, limit: 1 << 20) {
            let products = Self.deepCases.enumerated().map { Operands($1, seed: UInt64(40 + $0)) }
            for product in products {
                let same = product.bits() == Self.oneCallBits(product.c, product.values)
                #expect(same, "\(product.c)")
            }
            let changed = stressed(products, rounds: 4)
            for (product, rounds) in zip(products, changed) { #expect(rounds.isEmpty, "\(product.c) changed in rounds \(rounds)") }
        }
    }
}
