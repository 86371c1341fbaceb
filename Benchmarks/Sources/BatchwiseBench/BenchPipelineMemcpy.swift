import Batchwise
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The memcpy references of `bench pipeline`, and the random-access MNIST pipeline's A/B of
/// huge against small pages.
///
/// The reference of every `..._share_of_memcpy` row is a real copy: the buffers are written
/// in `CopyBuffers.init` and copied in `copy()`, neither of which is inlined, so the optimizer
/// cannot see what the source holds. Until stop 15 the reference filled its source with
/// `memset` and copied it in the same function, and LLVM rewrote that `memcpy` from a `memset`
/// buffer into a second `memset`: it measured 26-28 GB/s of writes, about twice the 12-14 GB/s
/// a copy reaches on the development machine (the same as a C program's `memcpy` between two
/// `malloc`ed buffers). Stop 15 moved the two into `CopyBuffers`, but the optimizer inlined
/// both into `randomAccessCPUShare`, whose loop became a `memset` again (its CPU-time share
/// read about half the wall-clock ones; docs/perf/pipeline.md, "The CPU-time share"). Copies
/// between 2 MiB-aligned buffers on huge and on small pages are reported too, for information.
extension BenchPipelineCommand {
    /// Source and target of a reference copy, 2 MiB-aligned, on huge or small pages as asked,
    /// written once so that no page fault falls inside the timing.
    final class CopyBuffers {
        let source: UnsafeMutableRawPointer
        let target: UnsafeMutableRawPointer
        let bytes: Int

        /// `nil`: the Swift allocator's buffers (the reference); `true`/`false`: 2 MiB-aligned
        /// buffers advised onto huge or small pages.
        let hugePages: Bool?

        /// Not inlined (nor is ``copy()``): inlined into a caller, the `memset` here would let
        /// the optimizer turn the caller's copies into `memset`s.
        @inline(never)
        init(bytes: Int, hugePages: Bool?) {
            self.bytes = bytes
            self.hugePages = hugePages
            if let hugePages {
                source = Self.allocate(bytes, hugePages: hugePages)
                target = Self.allocate(bytes, hugePages: hugePages)
            } else {
                source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                target = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            }
            memset(source, 1, bytes)
            memcpy(target, source, bytes)
        }

        deinit {
            if hugePages == nil {
                source.deallocate()
                target.deallocate()
            } else {
                free(source)
                free(target)
            }
        }

        /// The copy, once.
        @inline(never)
        func copy() { memcpy(target, source, bytes) }

        private static func allocate(_ bytes: Int, hugePages: Bool) -> UnsafeMutableRawPointer {
            var memory: UnsafeMutableRawPointer?
            guard posix_memalign(&memory, 2 << 20, bytes) == 0, let memory else {
                fatalError("cannot allocate \(bytes) bytes for the memcpy reference")
            }
            advise(UnsafeMutableRawBufferPointer(start: memory, count: bytes), hugePages: hugePages)
            return memory
        }
    }

    /// Asks Linux for huge pages (`MADV_HUGEPAGE`) or for none (`MADV_NOHUGEPAGE`, which also
    /// makes `moveStorageToHugePages()` fail) over the whole pages of `region`; elsewhere, nothing.
    static func advise(_ region: UnsafeMutableRawBufferPointer, hugePages: Bool) {
        #if os(Linux)
        guard let base = region.baseAddress else { return }
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        let start = (UInt(bitPattern: base) + page - 1) & ~(page - 1)
        let end = (UInt(bitPattern: base) + UInt(region.count)) & ~(page - 1)
        guard end > start, let pages = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pages, Int(end - start), hugePages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE)
        #endif
    }

    /// A copy of `x` whose storage refuses huge pages: the random-access pipeline over it runs
    /// on small pages (the "before" of the same-run A/B).
    static func smallPageCopy(_ x: Tensor<Float>) throws -> Tensor<Float> {
        let scalars = x.withUnsafeBufferPointer { source in
            [Float](unsafeUninitializedCapacity: source.count) { buffer, initialized in
                advise(UnsafeMutableRawBufferPointer(buffer), hugePages: false)  // before the first touch
                _ = buffer.initialize(from: source)
                initialized = source.count
            }
        }
        return try Tensor(shape: x.shape, scalars: scalars)
    }

    /// The best of five single copies of `bytes`, in MB/s: the machine's memcpy, which mostly
    /// escapes the load.
    static func memcpyBandwidth(bytes: Int, hugePages: Bool? = nil) -> Double {
        let buffers = CopyBuffers(bytes: bytes, hugePages: hugePages)
        var best = Double.infinity
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            buffers.copy()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(bytes) / best / 1e6
    }

    /// Plain memcpy measured the way the pipelines are: copies of `bytes` (the MNIST source's
    /// size) repeated for `seconds`, bytes over wall time, so a loaded machine slows both alike.
    /// ``memcpyBandwidth(bytes:hugePages:)``, the best of five single copies, mostly escapes the load.
    static func sustainedMemcpyBandwidth(bytes: Int, seconds: Double) -> Double {
        let buffers = CopyBuffers(bytes: bytes, hugePages: nil)
        let start = DispatchTime.now().uptimeNanoseconds
        var copied = 0, elapsed = 0.0
        while elapsed < seconds {
            buffers.copy()
            copied += bytes
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return Double(copied) / elapsed / 1e6
    }

    /// The memcpy figures of one run: the reference (best of five, and sustained) and, for
    /// information, best of five between 2 MiB-aligned buffers on huge and on small pages.
    struct MemcpyReference {
        var best: Double
        var hugePages: Double
        var smallPages: Double
        var sustained: Double

        static func measure(seconds: Double) -> MemcpyReference {
            MemcpyReference(best: memcpyBandwidth(bytes: 256 << 20),
                            hugePages: memcpyBandwidth(bytes: 256 << 20, hugePages: true),
                            smallPages: memcpyBandwidth(bytes: 256 << 20, hugePages: false),
                            sustained: sustainedMemcpyBandwidth(bytes: mnistBytes, seconds: seconds))
        }
    }

    /// The random-access MNIST pipeline over `x` (its `Slices` on huge pages where Linux gives
    /// them) and over a copy kept on small pages, in alternating slices (same run, same load).
    struct RandomAccessAB {
        var rate: Double
        var smallPagesRate: Double
        /// `x.moveStorageToHugePages()`'s time: the one-time huge-page collapse.
        var setupSeconds: Double
        /// The process's anonymous memory on huge pages after the setup, in MB.
        var hugePageMegabytes: Double?

        static func measure(_ x: Tensor<Float>, _ y: Tensor<Int64>, seconds: Double) throws -> RandomAccessAB {
            let setupStart = DispatchTime.now().uptimeNanoseconds
            x.moveStorageToHugePages()
            let setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - setupStart) / 1e9
            let hugePages = ProcessMemory.anonymousHugePageBytes().map { Double($0) / 1e6 }
            let small = try smallPageCopy(x)
            let (rate, smallRate) = try interleavedRates(randomAccessMNIST(x, y), randomAccessMNIST(small, y), seconds: seconds)
            return RandomAccessAB(rate: rate * 128, smallPagesRate: smallRate * 128, setupSeconds: setupSeconds,
                                  hugePageMegabytes: hugePages)
        }

        /// The rate and its shares of memcpy (target: at least 50%), the small-page rate and its
        /// share of the small-page memcpy (the figure as measured before huge pages), the ratio,
        /// the setup time and the huge-page memory.
        func rows(memcpy: MemcpyReference, cpuShare: Double) -> [BenchRow] {
            let moved = rate * bytesPerElement / 1e6, movedSmall = smallPagesRate * bytesPerElement / 1e6
            return [
                BenchRow(workload: "mnist_random_access", batchwise: rate, peer: nil, unit: "elements/s"),
                BenchRow(workload: "mnist_random_access_bandwidth", batchwise: moved, peer: nil, unit: "MB/s"),
            ] + shareRows("mnist_random_access", moved: moved, sustained: memcpy.sustained, best: memcpy.best) + [
                BenchRow(workload: "mnist_random_access_cpu_share_of_memcpy", batchwise: cpuShare, peer: nil, unit: "%"),
                BenchRow(workload: "mnist_random_access_small_pages", batchwise: smallPagesRate, peer: nil, unit: "elements/s"),
                BenchRow(workload: "mnist_random_access_small_pages_share_of_memcpy",
                         batchwise: 100 * movedSmall / memcpy.best, peer: nil, unit: "%"),
                BenchRow(workload: "mnist_random_access_huge_vs_small_pages", batchwise: rate / smallPagesRate, peer: nil, unit: "x"),
                BenchRow(workload: "mnist_source_setup", batchwise: setupSeconds, peer: nil, unit: "s", lowerIsBetter: true),
                BenchRow(workload: "anon_huge_pages", batchwise: hugePageMegabytes ?? 0, peer: nil, unit: "MB"),
            ]
        }
    }

    /// The random-access MNIST pipeline's bytes per second of its thread's CPU time over
    /// memcpy's (the MNIST source's size, copied again and again), in %, each side
    /// run for `seconds` of CPU time. A thread waiting for a core on a loaded machine is not
    /// charged, so this share moves much less with the load than the wall-clock ones.
    static func randomAccessCPUShare(_ x: Tensor<Float>, _ y: Tensor<Int64>, seconds: Double) throws -> Double {
        var iterator = try randomAccessMNIST(x, y).makeIterator()
        _ = try iterator.next()
        var batches = 0
        let start = threadCPUSeconds()
        while threadCPUSeconds() - start < seconds {
            guard try iterator.next() != nil else { break }
            batches += 1
        }
        let pipeline = Double(batches * 128) * bytesPerElement / (threadCPUSeconds() - start)

        let buffers = CopyBuffers(bytes: mnistBytes, hugePages: nil)
        var copies = 0
        let copyStart = threadCPUSeconds()
        while threadCPUSeconds() - copyStart < seconds {
            buffers.copy()
            copies += 1
        }
        let copied = Double(copies * mnistBytes) / (threadCPUSeconds() - copyStart)
        return 100 * pipeline / copied
    }
}
