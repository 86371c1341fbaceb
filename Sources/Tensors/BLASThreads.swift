import CBLAS
import Foundation
import Synchronization

/// How many threads one matrix product (``BLASScalar/gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``)
/// may use, and which products are too small to be worth a second thread.
///
/// **A product's bits never depend on the number of cores, on these settings, on
/// `OPENBLAS_NUM_THREADS` or on what other threads do** (issue 19, stop 19): every product has
/// the bits of one unsplit single-threaded call for the same arguments. `Float` products with
/// `alpha` 1 and `beta` 0 or 1 on a CPU with AVX2 and FMA run Batchwise's own kernel, whose
/// order per scalar does not depend on the cut, so they are split by runs of columns or rows
/// without a probe (`OwnProducts`, stop 24); the rest run OpenBLAS, as follows. OpenBLAS's own threads
/// cannot give that: threaded, OpenBLAS 0.3.21 blocks inner dimensions between about 384 and 768
/// differently, and its AVX-512 "direct" sgemm kernel is chosen by a rule that counts the
/// threads available. So Batchwise sets OpenBLAS to one thread for the whole process before
/// its first product (`openblas_set_num_threads(1)`, once) and never changes it again, and does
/// all the parallelism itself: a product above ``singleThreadedMultiplyAdds`` is cut into runs
/// of its output's rows or columns, each a single-threaded OpenBLAS call on Batchwise's product
/// workers, and it is only cut where a probe on first use of its shape showed that the parts
/// give the whole call's bits (``splitsLargeProducts``).
///
/// **Programs that call OpenBLAS themselves** in the same process: after Batchwise's first
/// product, their calls run on one OpenBLAS thread too. Such a program may call
/// `openblas_set_num_threads(n)` afterwards for its own products; Batchwise does not set it
/// back, but its products then run on OpenBLAS's `n` threads, and their bits follow `n` again
/// (for inner dimensions above about 384 and for direct-kernel shapes). To keep both, leave
/// OpenBLAS at one thread and let Batchwise's ``maximum`` use the cores.
///
/// ```swift
/// BLASThreads.maximum = 1                          // never more than one thread per product
/// BLASThreads.singleThreadedMultiplyAdds = 1 << 20  // or: only products up to 2^20 multiply-adds stay whole
/// let y = BLASThreads.onOneThread { try? Tensor<Float>.matmul(.init(zeros: [4, 4]), .init(zeros: [4, 4])) }
/// ```
///
/// With Accelerate (Apple platforms) there is no thread count to set; products are split the same way.
public enum BLASThreads {
    /// The most threads one product may use: its parts run on at most this many threads of
    /// Batchwise's own. Starts as OpenBLAS's own count before Batchwise set it to one
    /// (`OPENBLAS_NUM_THREADS`, or what the program set with `openblas_set_num_threads` before
    /// Batchwise's first product, else the number of cores): an explicit choice of threads
    /// becomes Batchwise's. Values below 1 are taken as 1. At 1, the rest of Batchwise's own
    /// parallel work (an optimizer's chunks, a layer's two backward products side by side) stays
    /// on the calling thread too. It changes speed only, never bits.
    public static var maximum: Int {
        get {
            let value = storedMaximum.load(ordering: .relaxed)
            return value > 0 ? value : libraryThreadsAtStart
        }
        set { storedMaximum.store(Swift.max(1, newValue), ordering: .relaxed) }
    }

    /// Products with at most this many multiply-adds (`m·n·k`) run whole on the calling thread.
    /// The default, 2²² (about 4 million, a 160³ product), keeps the small convolutions of an
    /// 8x8 image CNN and a narrow MLP's products on the caller's thread, where a hand-off would
    /// cost more than it saves. It changes speed only, never a product's bits.
    public static var singleThreadedMultiplyAdds: Int {
        get { storedLimit.load(ordering: .relaxed) }
        set { storedLimit.store(Swift.max(0, newValue), ordering: .relaxed) }
    }

    /// Runs `body` with no product split over threads, on any thread, while it runs: for code
    /// that multiplies on several of its own threads at once (a convolution split over chunks
    /// of images), where a split would only add hand-offs. Scopes may nest and overlap across
    /// threads. It changes speed only: OpenBLAS stays at one thread and bits stay the same.
    public static func onOneThread<R>(_ body: () throws -> R) rethrows -> R {
        scopes.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { scopes.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        return try body()
    }

    /// Scopes of ``onOneThread(_:)`` running now, on any thread.
    static var activeScopes: Int { scopes.load(ordering: .sequentiallyConsistent) }

    /// OpenBLAS's thread count as Batchwise found it (the default ``maximum``); reading it the
    /// first time sets OpenBLAS to one thread for the rest of the process. Every product reads
    /// it before it calls OpenBLAS (``ensureOneLibraryThread()``).
    static let libraryThreadsAtStart: Int = {
        let count = Swift.max(1, libraryThreads())
        setLibraryThreads(1)
        return count
    }()

    /// Sets OpenBLAS to one thread the first time it is called in the process.
    @usableFromInline
    static func ensureOneLibraryThread() {
        _ = libraryThreadsAtStart
    }

    /// The thread count OpenBLAS uses now (1 once Batchwise has multiplied).
    static var libraryThreadCount: Int { libraryThreads() }

    private static let storedMaximum = Atomic<Int>(0)   // 0: OpenBLAS's count at start
    private static let storedLimit = Atomic<Int>(1 << 22)
    private static let scopes = Atomic<Int>(0)

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
