import Testing
@testable import Tensors

/// ``BLASThreads``: the one-thread scope, the small-product rule, and that the thread count
/// never changes a product's bits. The settings are process-wide, so the suite runs serially
/// and puts them back.
@Suite(.serialized) struct BLASThreadsTests {
    /// Runs `body` with `maximum` threads and `limit`, restoring both afterwards.
    func with<R>(maximum: Int, limit: Int, _ body: () throws -> R) rethrows -> R {
        let (oldMaximum, oldLimit) = (BLASThreads.maximum, BLASThreads.singleThreadedMultiplyAdds)
        defer {
            BLASThreads.maximum = oldMaximum
            BLASThreads.singleThreadedMultiplyAdds = oldLimit
        }
        BLASThreads.maximum = maximum
        BLASThreads.singleThreadedMultiplyAdds = limit
        return try body()
    }

    @Test func aScopeRunsOpenBLASOnOneThreadAndGivesTheMaximumBack() {
        with(maximum: 2, limit: 1 << 22) {
            #expect(BLASThreads.libraryThreadCount == 2 || BLASThreads.activeScopes > 0)
            BLASThreads.onOneThread {
                #expect(BLASThreads.libraryThreadCount == 1)
                BLASThreads.onOneThread { #expect(BLASThreads.libraryThreadCount == 1) }
                // The inner scope's end must not give the threads back while this one runs.
                #expect(BLASThreads.libraryThreadCount == 1)
            }
            // Other suites may open scopes of their own meanwhile; check only when none did.
            let generation = BLASThreads.generation.load(ordering: .sequentiallyConsistent)
            let idle = BLASThreads.activeScopes == 0
            let count = BLASThreads.libraryThreadCount
            if idle, BLASThreads.activeScopes == 0, BLASThreads.generation.load(ordering: .sequentiallyConsistent) == generation {
                #expect(count == 2)
            }
        }
    }

    @Test func onlySmallProductsAboveOpenBLASsOwnLimitAreKeptOnOneThread() {
        with(maximum: 2, limit: 1 << 22) {
            #expect(!BLASThreads.limitsToOneThread(multiplyAdds: 1 << 18, directEligible: false))   // OpenBLAS keeps it on one thread itself
            #expect(BLASThreads.limitsToOneThread(multiplyAdds: (1 << 18) + 1, directEligible: false))
            #expect(BLASThreads.limitsToOneThread(multiplyAdds: 1 << 22, directEligible: false))
            #expect(!BLASThreads.limitsToOneThread(multiplyAdds: (1 << 22) + 1, directEligible: false))
            // OpenBLAS's direct sgemm kernel would take it on one thread but not on two.
            #expect(BLASThreads.limitsToOneThread(multiplyAdds: BLASThreads.directKernelThreadedLimit, directEligible: true))
            #expect(!BLASThreads.limitsToOneThread(multiplyAdds: BLASThreads.directKernelThreadedLimit + 1, directEligible: true))
        }
        with(maximum: 2, limit: 0) { #expect(!BLASThreads.limitsToOneThread(multiplyAdds: 1 << 20, directEligible: false)) }
        with(maximum: 1, limit: 1 << 22) { #expect(!BLASThreads.limitsToOneThread(multiplyAdds: 1 << 20, directEligible: false)) }
        with(maximum: -3, limit: -5) {
            #expect(BLASThreads.maximum == 1)
            #expect(BLASThreads.singleThreadedMultiplyAdds == 0)
        }
    }

    struct ProductCase: Sendable, CustomStringConvertible {
        let m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool, beta: Float
        var description: String { "\(m)x\(k)x\(n) tA \(transposeA) tB \(transposeB) beta \(beta)" }
    }

    // Shapes of the digits CNN's and the MLP's products between OpenBLAS's own one-thread
    // limit and the rule's, in every transpose, with beta 0 and 1; the untransposed beta-0
    // ones of 0.4–4 million multiply-adds are those OpenBLAS's direct kernel would take on one thread.
    @Test(arguments: [
        ProductCase(m: 512, k: 144, n: 32, transposeA: false, transposeB: false, beta: 1),
        ProductCase(m: 512, k: 144, n: 32, transposeA: false, transposeB: false, beta: 0),
        ProductCase(m: 128, k: 256, n: 64, transposeA: false, transposeB: false, beta: 0),
        ProductCase(m: 144, k: 512, n: 32, transposeA: true, transposeB: false, beta: 0),
        ProductCase(m: 512, k: 32, n: 144, transposeA: false, transposeB: true, beta: 0),
        ProductCase(m: 2048, k: 9, n: 16, transposeA: false, transposeB: false, beta: 0),
        ProductCase(m: 300, k: 100, n: 100, transposeA: true, transposeB: true, beta: 1),
    ])
    func theSmallProductRuleDoesNotChangeAProductsBits(_ c: ProductCase) {
        let operands = Operands(c, seed: 13)   // BLASThreadsStressTests.swift
        let ruled = with(maximum: 2, limit: 1 << 22) { operands.bits() }
        let library = with(maximum: 2, limit: 0) { operands.bits() }
        #expect(ruled == library, "\(c)")
    }

    @Test func theThreadCountDoesNotChangeAProductsBits() throws {
        var rng = SplitMix64(seed: 12)
        let m = 301, k = 203, n = 257   // 15.7 million multiply-adds: OpenBLAS splits it over its threads
        let a = try Tensor<Float>(shape: [m, k], scalars: (0..<(m * k)).map { _ in Float(rng.nextNormal()) })
        let b = try Tensor<Float>(shape: [k, n], scalars: (0..<(k * n)).map { _ in Float(rng.nextNormal()) })
        let threaded = try with(maximum: 2, limit: 0) { try Tensor.matmul(a, b) }
        let single = try BLASThreads.onOneThread { try Tensor.matmul(a, b) }
        #expect(threaded.scalars.map(\.bitPattern) == single.scalars.map(\.bitPattern))
        // And the product is a product: one entry against a Double dot product.
        let expected = (0..<k).reduce(0.0) { $0 + Double(a.scalars[5 * k + $1]) * Double(b.scalars[$1 * n + 7]) }
        #expect(abs(Double(single.scalars[5 * n + 7]) - expected) < 1e-3)
    }
}
