import Foundation
import Synchronization
import Testing
@testable import Tensors

/// ``BLASThreads`` under concurrency: another thread's one-thread scopes and products must not
/// change a product's bits (before stop 19 a scope changed OpenBLAS's process-wide thread
/// count, and a product on another thread could start while it was 1).
extension BLASThreadsTests {
    /// Seeded operands of one product, made once (SplitMix64 is slow in debug builds).
    struct Operands: Sendable {
        let c: GEMMCase
        let values: (a: [Float], b: [Float], initial: [Float])

        init(_ c: GEMMCase, seed: UInt64) {
            self.c = c
            values = c.operands(seed: seed)
        }

        /// The product through `Float.gemm` (so through BLASThreads), as bit patterns.
        func bits() -> [UInt32] { c.productBits(values) }
    }

    /// Runs `products` `rounds` times on this thread while another thread keeps going through
    /// small products (whole on the caller's thread) and through
    /// explicit ``BLASThreads/onOneThread(_:)`` scopes, from before the first product to after
    /// the last; returns, per product, the rounds whose bits differed from the product's bits
    /// alone, and checks the other thread's products the same way.
    func stressed(_ products: [Operands], rounds: Int) -> [[Int]] {
        let small = [
            Operands(GEMMCase(m: 128, k: 64, n: 64, transposeA: false, transposeB: false, beta: 1), seed: 100),  // 0.5M: whole
            Operands(GEMMCase(m: 64, k: 96, n: 64, transposeA: false, transposeB: true, beta: 0), seed: 101),
        ]
        let expected = products.map { $0.bits() }, expectedSmall = small.map { $0.bits() }
        let progress = StressProgress()
        let started = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        Thread {
            var round = 0
            while !progress.stop.load(ordering: .acquiring) {
                let product = small[round % small.count]
                // Rounds 0, 1 mod 4: no scope; 2, 3: an explicit scope (every thread's products stay whole while it is open).
                let bits = round % 4 < 2 ? product.bits() : BLASThreads.onOneThread { product.bits() }
                if bits != expectedSmall[round % small.count] { progress.smallMismatches.wrappingAdd(1, ordering: .relaxed) }
                round += 1
                if round == 1 { started.signal() }
            }
            finished.signal()
        }.start()
        started.wait()
        var changed = products.map { _ in [Int]() }
        for round in 0..<rounds {
            for (index, product) in products.enumerated() where product.bits() != expected[index] {
                changed[index].append(round)
            }
        }
        progress.stop.store(true, ordering: .releasing)
        finished.wait()
        #expect(progress.smallMismatches.load(ordering: .relaxed) == 0)
        return changed
    }

    /// Products keep their bits exactly while another thread opens scopes and multiplies again
    /// and again, and OpenBLAS stays at one thread. The checks are exact; whether an
    /// interleaving that would change a product occurs depends on the scheduler.
    @Test(.timeLimit(.minutes(1)))
    func productsKeepTheirBitsWhileAnotherThreadNarrowsOpenBLASToOneThread() {
        with(maximum: 2, limit: 1 << 22) {
            let products = [
                Operands(GEMMCase(m: 301, k: 203, n: 257, transposeA: false, transposeB: false, beta: 0), seed: 1),  // 15.7M: threaded
                Operands(GEMMCase(m: 128, k: 256, n: 64, transposeA: false, transposeB: false, beta: 0), seed: 2),   // 2.1M: direct-eligible
                Operands(GEMMCase(m: 96, k: 512, n: 48, transposeA: true, transposeB: false, beta: 1), seed: 3),     // 2.4M: whole
            ]
            let changed = stressed(products, rounds: 12)
            for (product, rounds) in zip(products, changed) { #expect(rounds.isEmpty, "\(product.c) changed in rounds \(rounds)") }
            #expect(BLASThreads.libraryThreadCount == 1)
        }
    }

    /// Products with an inner dimension between OpenBLAS's block depth and twice it
    /// (384 < k < 768), whose bits OpenBLAS 0.3.21's own threads would change (it cuts `k` into
    /// blocks differently on one thread and on several): before stop 19 these were known issues,
    /// a concurrent scope changing a threaded product's bits and the small-product rule
    /// changing them against OpenBLAS's threads. Now every product has the one-thread bits.
    @Test(.timeLimit(.minutes(1)))
    func productsWithABlockedDepthKeepTheOneThreadBits() {
        with(maximum: 2, limit: 1 << 22) {
            // 6.5M multiply-adds, untransposed with beta 0: OpenBLAS's direct kernel may take it.
            let large = Operands(GEMMCase(m: 128, k: 400, n: 128, transposeA: false, transposeB: false, beta: 0), seed: 4)
            #expect(stressed([large], rounds: 12)[0].isEmpty)
            let split = Operands(GEMMCase(m: 128, k: 400, n: 128, transposeA: false, transposeB: false, beta: 1), seed: 6)
            #expect(stressed([split], rounds: 12)[0].isEmpty)
            // 1.6M multiply-adds: kept whole on the caller's thread, whatever the limit.
            let ruled = Operands(GEMMCase(m: 64, k: 400, n: 64, transposeA: true, transposeB: false, beta: 0), seed: 5)
            let unlimited = with(maximum: 2, limit: 0) { ruled.bits() }
            // A Bool, so a failure does not print two 4,096-scalar arrays.
            let sameBits = ruled.bits() == unlimited
            #expect(sameBits)
        }
    }
}

/// What the two threads of the stress test share.
private final class StressProgress: Sendable {
    let stop = Atomic<Bool>(false)
    let smallMismatches = Atomic<Int>(0)
}
