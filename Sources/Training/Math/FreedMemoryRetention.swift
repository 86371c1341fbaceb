#if canImport(Glibc)
import Glibc
#endif

/// Keeps the memory of freed training buffers in the process for the next step, on glibc.
///
/// A CNN training step allocates and frees tens of megabytes of activations, gradients and
/// patch matrices. glibc returns the freed top of its heap to the kernel once it exceeds the
/// trim threshold (by default about twice the largest buffer freed so far), so every step
/// faulted the same pages in again and had the kernel zero them: in a profile of the MNIST-shape
/// CNN that was 40% of the step's CPU time (2.0–2.3 s of system time against 3 s of user time).
/// ``engage()`` raises the trim threshold to ``trimThreshold`` and fixes the mmap threshold at
/// glibc's maximum, so buffers up to 32 MiB come from the heap and stay there. It is called
/// once per process by the first training pass of a ``Conv2D``; the cost is that up to
/// ``trimThreshold`` of freed heap stays mapped. `DenseMath.backward` calls it too: the BN-MLP's
/// step faulted its 128 KiB activations in again every step (6.9% of a profile's samples,
/// docs/perf/layers.md). Elsewhere (no glibc) it does nothing.
enum FreedMemoryRetention {
    /// Freed heap glibc keeps instead of returning to the kernel.
    static let trimThreshold: Int32 = 512 << 20
    /// glibc's upper limit for the mmap threshold on 64-bit systems.
    static let mmapThreshold: Int32 = 32 << 20

    /// Sets the thresholds the first time it is called; later calls do nothing.
    static func engage() { _ = engaged }

    private static let engaged: Bool = {
        #if canImport(Glibc)
        // mallopt is in <malloc.h>, which the Glibc module does not import; glibc's own
        // option numbers (M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3) are part of its ABI.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        return mallopt(-1, trimThreshold) == 1 && mallopt(-3, mmapThreshold) == 1
        #else
        return false
        #endif
    }()
}
