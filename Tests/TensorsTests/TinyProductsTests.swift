import CVectorKernels
import Testing
@testable import Tensors

/// The tiny-product kernel (an AVX2 FMA chain per output) against the product path it stands in
/// for (`Float.blockedGemm`: the own sgemm with AVX2 and FMA, else OpenBLAS), bit for bit, on
/// the seed model's six products and on odd shapes, and the per-shape probe that decides which
/// of them the kernel takes.
@Suite struct TinyProductsTests {
    /// The products of one batch-32 step of the seed model (BN, Dense 8, BN, Dense 1 on one
    /// feature): both Dense forwards (bias-seeded, so accumulating), both kernel gradients
    /// (xᵀ·dz) and both input gradients (dz·kernelᵀ).
    static let seedModelProducts: [GEMMCase] = [
        GEMMCase(m: 32, k: 1, n: 8, transposeA: false, transposeB: false, beta: 1),
        GEMMCase(m: 32, k: 8, n: 1, transposeA: false, transposeB: false, beta: 1),
        GEMMCase(m: 1, k: 32, n: 8, transposeA: true, transposeB: false, beta: 0),
        GEMMCase(m: 8, k: 32, n: 1, transposeA: true, transposeB: false, beta: 0),
        GEMMCase(m: 32, k: 8, n: 1, transposeA: false, transposeB: true, beta: 0),
        GEMMCase(m: 32, k: 1, n: 8, transposeA: false, transposeB: true, beta: 0),
    ]

    /// Other tiny shapes in every transposition: remainders of the eight-wide blocks, one row
    /// or column, the size limit, and inner dimensions from 1 to 64.
    static let oddProducts: [GEMMCase] = [(3, 5, 7), (9, 2, 17), (1, 64, 1), (16, 16, 16), (8, 64, 8), (13, 1, 11),
                                          (64, 1, 64), (2, 33, 9)].flatMap { m, k, n in
        [(false, false), (true, false), (false, true), (true, true)].flatMap { ta, tb in
            [Float(0), 1].map { GEMMCase(m: m, k: k, n: n, transposeA: ta, transposeB: tb, beta: $0) }
        }
    }

    /// The kernel's bits for `c` (operands as `GEMMCase` lays them out).
    func kernelBits(_ c: GEMMCase, _ operands: (a: [Float], b: [Float], initial: [Float]), reversed: Bool = false) -> [UInt32] {
        var out = operands.initial
        let done = bw_tiny_sgemm(c.transposeA ? 1 : 0, c.transposeB ? 1 : 0, c.m, c.n, c.k, operands.a,
                                 c.transposeA ? c.m : c.k, operands.b, c.transposeB ? c.k : c.n,
                                 c.beta == 1 ? 1 : 0, &out, c.n, reversed ? 1 : 0)
        #expect(done == 1)
        return out.map(\.bitPattern)
    }

    /// The product path's bits for `c` (the own sgemm, or OpenBLAS), never through the kernel.
    func blockedBits(_ c: GEMMCase, _ operands: (a: [Float], b: [Float], initial: [Float])) -> [UInt32] {
        var out = operands.initial
        Float.blockedGemm(transposeA: c.transposeA, transposeB: c.transposeB, m: c.m, n: c.n, k: c.k, alpha: 1,
                          a: operands.a, lda: c.transposeA ? c.m : c.k, b: operands.b, ldb: c.transposeB ? c.k : c.n,
                          beta: c.beta, c: &out, ldc: c.n)
        return out.map(\.bitPattern)
    }

    /// How many scalars differ in their bits (a count keeps failure messages short).
    func differences(_ a: [UInt32], _ b: [UInt32]) -> Int { zip(a, b).filter { $0 != $1 }.count }

    @Test(arguments: seedModelProducts)
    func theSeedModelsProductsHaveTheProductPathsBitsAndTakeTheKernel(_ c: GEMMCase) throws {
        try #require(bw_cpu_has_avx2_fma() == 1, "no AVX2 and FMA: the kernel is never taken")
        for seed in UInt64(1)...4 {
            let operands = c.operands(seed: seed)
            #expect(differences(kernelBits(c, operands), blockedBits(c, operands)) == 0, "\(c) seed \(seed)")
            // Through Float.gemm, which probes the shape first and then takes the kernel.
            #expect(differences(c.productBits(operands), blockedBits(c, operands)) == 0, "\(c) seed \(seed)")
        }
        // The probe takes the kernel for this shape on this machine...
        #expect(TinyProducts.probeMatches(transposeA: c.transposeA, transposeB: c.transposeB, m: c.m, n: c.n, k: c.k,
                                          accumulate: c.beta == 1), "\(c): the probe sends this shape back to sgemm")
        // ...and so did Float.gemm's (unless this test process's other tests filled the table).
        let key = TinyProducts.shapeKey(transposeA: c.transposeA, transposeB: c.transposeB, m: c.m, n: c.n, k: c.k,
                                        accumulate: c.beta == 1)
        #expect([1, -2].contains(bw_tiny_sgemm_verdict(key)), "\(c): the probe sent this shape back to sgemm")
    }

    @Test(arguments: oddProducts)
    func everyTinyProductThroughGEMMHasTheProductPathsBits(_ c: GEMMCase) {
        // Whichever way the probe decided for this shape, Float.gemm gives the product path's bits.
        for seed in UInt64(5)...7 {
            let operands = c.operands(seed: seed)
            #expect(differences(c.productBits(operands), blockedBits(c, operands)) == 0, "\(c) seed \(seed)")
        }
    }

    @Test func theProbeRejectsAKernelThatSumsInAnotherOrder() throws {
        try #require(bw_cpu_has_avx2_fma() == 1, "no AVX2 and FMA: nothing to probe")
        for c in Self.seedModelProducts where c.k > 1 {
            #expect(!TinyProducts.probeMatches(transposeA: c.transposeA, transposeB: c.transposeB, m: c.m, n: c.n,
                                               k: c.k, accumulate: c.beta == 1, reversed: true), "\(c)")
            #expect(TinyProducts.probeMatches(transposeA: c.transposeA, transposeB: c.transposeB, m: c.m, n: c.n,
                                              k: c.k, accumulate: c.beta == 1), "\(c)")
            let operands = c.operands(seed: 9)
            #expect(differences(kernelBits(c, operands, reversed: true), blockedBits(c, operands)) > 0, "\(c)")
        }
    }

    /// A `beta` 0 output whose chain rounds to -0 (negative products below the smallest
    /// subnormal) is stored as +0, as the own sgemm stores `+0 + sum`: otherwise the tiny kernel
    /// would differ from the path it stands in for in a zero's sign, which the probe's operands
    /// never show. Every store path: the outer products (eight wide, multiples of eight, other
    /// widths), columns of eight rows, rows of eight columns and single scalars.
    @Test func aNegativeZeroSumIsStoredAsPositiveZero() throws {
        try #require(bw_cpu_has_avx2_fma() == 1, "no AVX2 and FMA: the kernel is never taken")
        let shapes = Self.seedModelProducts.filter { $0.beta == 0 }
            + [(32, 1, 16), (3, 1, 7), (13, 5, 3), (9, 2, 16), (3, 5, 7)].map {
                GEMMCase(m: $0.0, k: $0.1, n: $0.2, transposeA: false, transposeB: false, beta: 0)
            }
        for c in shapes {
            let operands = (a: [Float](repeating: 1e-30, count: c.m * c.k), b: [Float](repeating: -1e-30, count: c.k * c.n),
                            initial: [Float](repeating: .nan, count: c.m * c.n))
            let kernel = kernelBits(c, operands)
            #expect(kernel.allSatisfy { $0 == 0 }, "\(c): \(Set(kernel))")
            #expect(differences(kernel, blockedBits(c, operands)) == 0, "\(c)")
        }
    }

    @Test func largerProductsStayWithSGEMM() {
        var out = [Float](repeating: 0, count: 64 * 64)
        let a = [Float](repeating: 1, count: 64 * 64)
        #expect(!TinyProducts.multiply(transposeA: false, transposeB: false, m: 64, n: 64, k: 64, a: a, lda: 64,
                                       b: a, ldb: 64, accumulate: false, c: &out, ldc: 64))
        #expect(out.allSatisfy { $0 == 0 })
    }
}

/// The verdict table on a table of the test's own (the process's table is shared by every test).
@Suite struct TinyProductVerdictTableTests {
    func withTable(_ body: (UnsafeMutablePointer<bw_tiny_verdict_table>) -> Void) {
        let table = UnsafeMutablePointer<bw_tiny_verdict_table>.allocate(capacity: 1)
        table.initialize(to: bw_tiny_verdict_table())
        defer { table.deallocate() }
        body(table)
    }

    @Test func aFullTableSendsNewShapesToSGEMMWithoutProbing() {
        withTable { table in
            let limit = Int(BW_TINY_VERDICT_LIMIT)
            let keys = (1...(limit + 1)).map { UInt64($0) * 8_191 }
            #expect(bw_tiny_verdict_lookup(table, keys[0]) == -1)
            for (index, key) in keys.prefix(limit).enumerated() { bw_tiny_verdict_store(table, key, Int32(index % 2)) }
            for (index, key) in keys.prefix(limit).enumerated() {
                #expect(bw_tiny_verdict_lookup(table, key) == Int32(index % 2), "key \(index)")
            }
            #expect(bw_tiny_verdict_lookup(table, keys[limit]) == -2)
            bw_tiny_verdict_store(table, keys[limit], 1)
            #expect(bw_tiny_verdict_lookup(table, keys[limit]) == -2)
            #expect(table.pointee.used == UInt64(limit))
        }
    }

    @Test func theFirstVerdictForAShapeStays() {
        withTable { table in
            bw_tiny_verdict_store(table, 42, 0)
            bw_tiny_verdict_store(table, 42, 1)
            #expect(bw_tiny_verdict_lookup(table, 42) == 0)
            #expect(table.pointee.used == 1)
        }
    }
}
