import Foundation
import Synchronization
import Testing
@testable import Tensors

/// ``BLASThreads`` under concurrency: its one-thread scopes change OpenBLAS's process-wide
/// thread count, so a product on another thread may start while the count is 1.
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
    /// the small-product path (each product in a one-thread scope of its own) and through
    /// explicit ``BLASThreads/onOneThread(_:)`` scopes, from before the first product to after
    /// the last; returns, per product, the rounds whose bits differed from the product's bits
    /// alone, and checks the other thread's products the same way.
    func stressed(_ products: [Operands], rounds: Int) -> [[Int]] {
        let small = [
            Operands(GEMMCase(m: 128, k: 64, n: 64, transposeA: false, transposeB: false, beta: 1), seed: 100),  // 0.5M: the rule
            Operands(GEMMCase(m: 64, k: 96, n: 64, transposeA: false, transposeB: true, beta: 0), seed: 101),
        ]
        let expected = products.map { $0.bits() }, expectedSmall = small.map { $0.bits() }
        let progress = StressProgress()
        let started = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        Thread {
            var round = 0
            while !progress.stop.load(ordering: .acquiring) {
                let product = small[round % small.count]
                // Rounds 0, 1 mod 4: the small-product rule opens the scope; 2, 3: an explicit scope.
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

    /// Products whose bits OpenBLAS computes alike on one thread and on two (`k` ≤ 384, its
    /// sgemm block depth here) keep them exactly while another thread narrows OpenBLAS to one
    /// thread again and again: the count changes under running products (large ones split over
    /// OpenBLAS's threads, medium ones it could hand to its direct kernel) without corrupting
    /// them, and every scope gives the count back. The checks are exact; whether an
    /// interleaving that would corrupt a product occurs depends on the scheduler.
    @Test(.timeLimit(.minutes(1)))
    func productsKeepTheirBitsWhileAnotherThreadNarrowsOpenBLASToOneThread() {
        with(maximum: 2, limit: 1 << 22) {
            let products = [
                Operands(GEMMCase(m: 301, k: 203, n: 257, transposeA: false, transposeB: false, beta: 0), seed: 1),  // 15.7M: threaded
                Operands(GEMMCase(m: 128, k: 256, n: 64, transposeA: false, transposeB: false, beta: 0), seed: 2),   // 2.1M: direct-eligible
                Operands(GEMMCase(m: 96, k: 512, n: 48, transposeA: true, transposeB: false, beta: 1), seed: 3),     // 2.4M: the rule
            ]
            let changed = stressed(products, rounds: 12)
            for (product, rounds) in zip(products, changed) { #expect(rounds.isEmpty, "\(product.c) changed in rounds \(rounds)") }
            // Once both threads are done, OpenBLAS has its threads back (unless another suite's scope is open).
            #expect(BLASThreads.activeScopes > 0 || BLASThreads.libraryThreadCount == 2)
        }
    }

    /// What BLASThreads does NOT guarantee (found by the stress test above with a deeper `k`):
    /// OpenBLAS 0.3.21 cuts `k` into blocks differently on one thread and on several when
    /// 384 < k < 768 (its single-thread driver rounds the half of the remainder up to 16, the
    /// threaded one does not), so such a product's bits depend on the thread count. A product on
    /// OpenBLAS's threads that starts while another thread's scope holds the count at 1 then
    /// rounds differently, and the small-product rule itself changes the bits of such products.
    @Test(.timeLimit(.minutes(1)))
    func productsWithABlockedDepthDependOnTheThreadCount() {
        with(maximum: 2, limit: 1 << 22) {
            // 6.5M multiply-adds: on OpenBLAS's threads, unless another thread's scope narrowed them.
            let threaded = Operands(GEMMCase(m: 128, k: 400, n: 128, transposeA: false, transposeB: false, beta: 0), seed: 4)
            // Untransposed with beta 0, it may take OpenBLAS's direct kernel, which the split
            // leaves to OpenBLAS's threads: its bits follow the thread count of the moment.
            withKnownIssue("a concurrent one-thread scope changes the bits of a threaded direct-kernel product with 384 < k < 768",
                           isIntermittent: true) {
                #expect(stressed([threaded], rounds: 12)[0].isEmpty)
            }
            // With beta 1 it is split, or held on one thread while another thread's scope is open
            // (BLASThreads.keepsSplitBits): the one-thread bits in every round.
            let split = Operands(GEMMCase(m: 128, k: 400, n: 128, transposeA: false, transposeB: false, beta: 1), seed: 6)
            #expect(stressed([split], rounds: 12)[0].isEmpty)
            // 1.6M multiply-adds: the rule keeps it on one thread; OpenBLAS would use two.
            let ruled = Operands(GEMMCase(m: 64, k: 400, n: 64, transposeA: true, transposeB: false, beta: 0), seed: 5)
            let library = with(maximum: 2, limit: 0) { ruled.bits() }
            withKnownIssue("the small-product rule changes the bits of a product with 384 < k < 768", isIntermittent: true) {
                // A Bool, so a recorded issue does not print two 4,096-scalar arrays.
                let sameBits = ruled.bits() == library
                #expect(sameBits)
            }
        }
    }
}

/// What the two threads of the stress test share.
private final class StressProgress: Sendable {
    let stop = Atomic<Bool>(false)
    let smallMismatches = Atomic<Int>(0)
}
