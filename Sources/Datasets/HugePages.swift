import Tensors
#if canImport(Glibc)
import Glibc
#endif

extension Tensor {
    /// Moves this tensor's storage onto transparent huge pages, in place, and returns how many
    /// bytes are now on them (0 when nothing was done). Values never change.
    ///
    /// Worth calling once on a large in-memory source that a global shuffle will gather random
    /// rows from for many epochs: on 4 KiB pages nearly every gathered row is a TLB miss. On the
    /// development machine the random-access MNIST pipeline ran 1.03x-1.14x faster with its
    /// 188 MB source on huge pages, while the move itself took 1.2-1.4 s (0.05-0.15 s when the
    /// kernel has huge pages ready) — so it pays only after many epochs, and `Slices` never does
    /// it on its own.
    ///
    /// Linux 6.1 or later with transparent huge pages not set to `never`; elsewhere, below
    /// 16 MiB, or when the kernel refuses, it does nothing and reports nothing. Only the
    /// 2 MiB-aligned interior of the storage moves. The storage is shared with every copy of
    /// the tensor (copy on write), so `Slices` made from this tensor or a copy of it read the
    /// moved pages.
    ///
    /// ```swift
    /// let pixels = [Float](repeating: 0.5, count: 60_000 * 784)
    /// let features = try Tensor<Float>(shape: [60_000, 784], scalars: pixels)
    /// let labels = try Tensor<Int64>(shape: [60_000], scalars: [Int64](repeating: 3, count: 60_000))
    /// features.moveStorageToHugePages()
    /// let batches = try Slices(features, labels).globalShuffle(seed: 7).batch(128)
    /// ```
    @discardableResult
    public func moveStorageToHugePages() -> Int {
        withUnsafeBufferPointer { collapseToHugePages(UnsafeRawBufferPointer($0)) }
    }
}

/// Moves the 2 MiB-aligned interior of a large, already written buffer onto transparent huge
/// pages, in place (Linux `madvise(MADV_COLLAPSE)`); elsewhere, or when the kernel refuses, it
/// does nothing. The bytes never change; only the pages behind them do. Returns the number of
/// bytes now on huge pages (0 when nothing was done).
///
/// Why (see `Tensor.moveStorageToHugePages()`): gathering a batch from tensor ``Slices`` reads random rows of one large array (MNIST:
/// 3,136-byte rows of a 188 MB array). On 4 KiB pages nearly every row is a TLB miss and a page
/// walk; on 2 MiB pages the whole array fits the TLB. Tensor storage is an ordinary Swift array
/// that the caller built and still holds, so it cannot be allocated on huge pages before its
/// first touch from here, and a copy onto fresh huge pages would double its memory while the
/// caller keeps the original. The collapse is memory-neutral (the kernel swaps 512 small pages
/// for one huge page) at a one-time cost when the source is built.
///
/// It does nothing below ``hugePageMinimumBytes`` (such an array fits the TLB's reach on small
/// pages), when the machine's THP setting is `never` (the administrator's choice: the collapse
/// itself would ignore it), on kernels before 6.1 (no `MADV_COLLAPSE`: `EINVAL`) and when no huge
/// page can be had (`EAGAIN`, `ENOMEM`). None of these is an error: the data stays where it is,
/// on small pages, and every read gives the same bytes. The edges outside the aligned interior
/// (at most 2 MiB at each end, perhaps shared with other allocations) are left alone.
///
/// ```swift
/// x.withUnsafeBufferPointer { _ = collapseToHugePages(UnsafeRawBufferPointer($0)) }
/// ```
@usableFromInline @discardableResult
func collapseToHugePages(_ region: UnsafeRawBufferPointer) -> Int {
    #if os(Linux) && canImport(Glibc)
    guard region.count >= hugePageMinimumBytes, transparentHugePagesAllowed, let base = region.baseAddress else { return 0 }
    let mask = UInt(hugePageBytes - 1)
    let start = (UInt(bitPattern: base) + mask) & ~mask
    let end = (UInt(bitPattern: base) + UInt(region.count)) & ~mask
    guard end > start, let interior = UnsafeMutableRawPointer(bitPattern: start) else { return 0 }
    // The pages are populated (the array is written), so the collapse allocates no memory
    // beyond one huge page at a time. A failure leaves the small pages as they were.
    return madvise(interior, Int(end - start), madviseCollapse) == 0 ? Int(end - start) : 0
    #else
    return 0
    #endif
}

/// Arrays shorter than this stay on small pages: 4 KiB pages already cover them from the TLB
/// (2,048 entries reach 8 MiB on the development machine's AMD EPYC).
let hugePageMinimumBytes = 16 << 20
/// The size of an x86-64 / arm64 (4 KiB granule) transparent huge page.
let hugePageBytes = 2 << 20

#if os(Linux) && canImport(Glibc)
/// `MADV_COLLAPSE` (Linux 6.1); glibc's headers before 2.37 lack the name, the value is ABI.
private let madviseCollapse: Int32 = 25

/// Whether `/sys/kernel/mm/transparent_hugepage/enabled` allows huge pages at all (`always` or
/// `madvise`); a missing or unreadable file (no THP support) counts as not allowed.
let transparentHugePagesAllowed: Bool = {
    guard let file = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r") else { return false }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 128)
    guard fgets(&line, Int32(line.count), file) != nil else { return false }
    let setting = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return setting.contains("[always]") || setting.contains("[madvise]")
}()
#endif
