import CBLAS
import Foundation
import Synchronization

/// How many threads OpenBLAS may use for one matrix product (``BLASScalar/gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``),
/// and which products are too small to be worth a second thread.
///
/// OpenBLAS splits a product over its worker threads (by default one per core, or
/// `OPENBLAS_NUM_THREADS`). For a small product the hand-off costs more than it saves, and the
/// workers then spin waiting for the next product while the caller's thread does the rest of
/// a training step alone; on a 2-core machine that spinning takes the core the caller needs.
/// So products of at most ``singleThreadedMultiplyAdds`` multiply-adds run on the calling
/// thread alone, and code that multiplies on several threads of its own at once (a
/// convolution split over chunks of images) runs inside ``onOneThread(_:)``.
///
/// The rule never changes a result: OpenBLAS splits a product by rows and columns of the
/// output, and every output scalar sums its terms in the same order on any thread. (The one
/// exception, OpenBLAS's AVX-512 "direct" sgemm kernel, which it picks by the thread count for
/// untransposed products with `beta` 0, is left to OpenBLAS's threads.) Inside
/// ``onOneThread(_:)`` that exception is the caller's to avoid.
///
/// That holds for inner dimensions up to OpenBLAS's block depth (about 384). Above it,
/// OpenBLAS (0.3.21) blocks the inner dimension differently when threaded, so a product kept
/// on one thread can differ in its last bits from the one OpenBLAS's threads would make (a
/// 128 x 10 x 784 product does); either is reproducible run to run. Because the thread count
/// is process-wide, a product OpenBLAS would thread that starts on another thread while a
/// one-thread scope is open runs on one thread, and for those shapes (and direct-kernel ones)
/// its bits then depend on the other thread's timing; one thread's own products are not
/// affected (`BLASThreadsStressTests` records the concurrent case as a known issue). With
/// ``splitsLargeProducts`` on, that leaves only direct-kernel products: the others are split,
/// kept on one thread by the rule, or held on one thread when they cannot be cut.
///
/// Products above the one-thread limit are split over threads of our own, each part on one
/// OpenBLAS thread (``splitsLargeProducts``): they get the one-thread bits whatever the number
/// of threads.
///
/// ```swift
/// BLASThreads.maximum = 1                          // never more than one thread per product
/// BLASThreads.singleThreadedMultiplyAdds = 1 << 20  // or: only products up to 2^20 multiply-adds stay on one
/// let y = BLASThreads.onOneThread { try? Tensor<Float>.matmul(.init(zeros: [4, 4]), .init(zeros: [4, 4])) }
/// ```
///
/// With Accelerate (Apple platforms) the settings are kept but have no effect.
public enum BLASThreads {
    /// The most threads one product may use. Starts as OpenBLAS's own count
    /// (`OPENBLAS_NUM_THREADS`, else the number of cores); values below 1 are taken as 1.
    public static var maximum: Int {
        get { configuredMaximum() }
        set {
            let value = Swift.max(1, newValue)
            scopeLock.withLock {
                storedMaximum.store(value, ordering: .sequentiallyConsistent)
                if scopes.load(ordering: .sequentiallyConsistent) == 0 { setLibraryThreads(value) }
            }
        }
    }

    /// Products with at most this many multiply-adds (`m·n·k`) run on one thread. The default,
    /// 2²² (about 4 million, a 160³ product), keeps the small convolutions of an 8x8 image CNN
    /// and a narrow MLP's products on the caller's thread; OpenBLAS itself already keeps
    /// products up to 2¹⁸ multiply-adds on one thread. 0 leaves every product to OpenBLAS.
    public static var singleThreadedMultiplyAdds: Int {
        get { storedLimit.load(ordering: .relaxed) }
        set { storedLimit.store(Swift.max(0, newValue), ordering: .relaxed) }
    }

    /// Runs `body` with every product on one thread, for code that multiplies on several of
    /// its own threads at once. Scopes may nest and overlap across threads; the last one to
    /// end gives OpenBLAS back ``maximum`` threads.
    public static func onOneThread<R>(_ body: () throws -> R) rethrows -> R {
        // The count and OpenBLAS's setting change together under the lock: otherwise a scope
        // ending on one thread could set OpenBLAS back to `maximum` just after another thread's
        // scope began and set it to 1 (BLASThreadsStressTests saw split products change bits).
        scopeLock.withLock {
            if scopes.wrappingAdd(1, ordering: .sequentiallyConsistent).oldValue == 0 {
                generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
                if configuredMaximum() > 1 { setLibraryThreads(1) }
            }
        }
        defer {
            scopeLock.withLock {
                if scopes.wrappingSubtract(1, ordering: .sequentiallyConsistent).newValue == 0 {
                    setLibraryThreads(configuredMaximum())
                }
            }
        }
        return try body()
    }

    /// Runs one product of `multiplyAdds` through `body`, on one thread when it is small.
    /// `directEligible`: an sgemm without transposes, `alpha` 1 and `beta` 0, which OpenBLAS
    /// may hand to its AVX-512 "direct" kernel, a choice that depends on the thread count.
    @usableFromInline
    static func multiply(multiplyAdds: Int, directEligible: Bool, _ body: () -> Void) {
        // Otherwise already on one thread (OpenBLAS's own threshold, a scope, a maximum of 1) or a large product.
        guard limitsToOneThread(multiplyAdds: multiplyAdds, directEligible: directEligible),
              scopes.load(ordering: .relaxed) == 0 else {
            body()
            return
        }
        onOneThread(body)
    }

    /// OpenBLAS keeps products of at most this many multiply-adds on one thread by itself
    /// (`SMP_THRESHOLD_MIN · GEMM_MULTITHREAD_THRESHOLD` in its `interface/gemm.c`).
    static let libraryOwnSingleThreadLimit = 1 << 18

    /// OpenBLAS (0.3.21, AVX-512 machines) computes an sgemm without transposes, `alpha` 1
    /// and `beta` 0 with its "direct" kernel when it is small, and "small" means up to this
    /// many multiply-adds when it may use several threads but up to 28·512² on one thread
    /// (`sgemm_direct_performant`). The direct kernel rounds differently from the blocked one,
    /// so such products above this size keep OpenBLAS's threads: the rule never changes a result.
    static let directKernelThreadedLimit = 2 * 350 * 512

    /// Whether a product of `multiplyAdds` needs ``onOneThread(_:)`` to stay on one thread:
    /// above OpenBLAS's own limit, within ``singleThreadedMultiplyAdds``, with a ``maximum``
    /// above 1, and not a `directEligible` product whose kernel would change with the threads.
    static func limitsToOneThread(multiplyAdds: Int, directEligible: Bool) -> Bool {
        multiplyAdds > libraryOwnSingleThreadLimit && multiplyAdds <= singleThreadedMultiplyAdds
            && !(directEligible && multiplyAdds > directKernelThreadedLimit) && configuredMaximum() > 1
    }

    /// The thread count OpenBLAS uses now (1 inside ``onOneThread(_:)``).
    static var libraryThreadCount: Int { libraryThreads() }

    private static let storedMaximum = Atomic<Int>(0)   // 0: not read from OpenBLAS yet
    private static let storedLimit = Atomic<Int>(1 << 22)
    private static let scopes = Atomic<Int>(0)
    /// Serializes changes of ``scopes`` with the `openblas_set_num_threads` calls they imply
    /// (an `NSLock`, which Thread Sanitizer sees, unlike `Synchronization.Mutex`).
    private static let scopeLock = NSLock()
    /// Counts outermost scopes begun, so a test can tell whether one began and ended meanwhile.
    static let generation = Atomic<Int>(0)

    /// Scopes of ``onOneThread(_:)`` running now, on any thread.
    static var activeScopes: Int { scopes.load(ordering: .sequentiallyConsistent) }

    private static func configuredMaximum() -> Int {
        let value = storedMaximum.load(ordering: .relaxed)
        if value > 0 { return value }
        let library = Swift.max(1, libraryThreads())
        // Another thread may have stored a maximum meanwhile; its value wins.
        return storedMaximum.compareExchange(expected: 0, desired: library, ordering: .sequentiallyConsistent).exchanged
            ? library : storedMaximum.load(ordering: .relaxed)
    }

    private static func libraryThreads() -> Int {
        #if canImport(Darwin)
        1
        #else
        Int(openblas_get_num_threads())
        #endif
    }

    private static func setLibraryThreads(_ count: Int) {
        #if !canImport(Darwin)
        openblas_set_num_threads(Int32(count))
        #endif
    }
}
