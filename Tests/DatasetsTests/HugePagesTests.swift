import Testing
@testable import Datasets
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// `Tensor.moveStorageToHugePages()` moves a large tensor's storage onto transparent huge pages
/// (`collapseToHugePages`), which must change nothing but the pages: every gathered batch stays
/// the element path's, bit for bit, and the tensor's scalars stay what they were. `Slices` alone
/// leaves the pages as they are (the move costs about a second for 188 MB).
@Suite(.serialized) struct HugePagesTests {
    /// 6,800 rows of 784 floats: 21 MB, above the 16 MiB threshold, so with several 2 MiB pages
    /// in its interior wherever the allocator puts it.
    static let rows = 6_800, width = 784
    static func features() throws -> Tensor<Float> {
        try Tensor<Float>(shape: [rows, width], scalars: (0..<(rows * width)).map { Float($0 % 9_973) * 0.5 })
    }

    @Test func largeSlicesGatherTheSameBatchesAsTheElementPath() throws {
        let x = try Self.features()
        let y = try Tensor<Int64>(shape: [Self.rows], scalars: (0..<Self.rows).map { Int64($0 % 10) })
        let before = x.scalars
        x.moveStorageToHugePages()
        let fast = try Slices(x, y).globalShuffle(seed: 1).batch(128)
        let slow = Slices(count: Self.rows) { (x.row($0), y.row($0)) }.globalShuffle(seed: 1).batch(128)
        for batch in [0, 1, 26, fast.count - 1] {
            let (got, want) = (try fast.element(at: batch, epoch: 2), try slow.element(at: batch, epoch: 2))
            #expect(got.0.scalars == want.0.scalars, "features of batch \(batch)")
            #expect(got.0.shape == want.0.shape)
            #expect(got.1.scalars == want.1.scalars, "labels of batch \(batch)")
        }
        #expect(x.scalars == before, "the collapse leaves the values alone")
    }

    @Test func smallTensorsAreLeftOnSmallPages() throws {
        let x = try Tensor<Float>(shape: [1_000, 784], scalars: Array(repeating: 1, count: 784_000))  // 3 MB
        #expect(x.withUnsafeBufferPointer { collapseToHugePages(UnsafeRawBufferPointer($0)) } == 0)
    }

    #if os(Linux) && canImport(Glibc)
    @Test func movingStorageToHugePagesPutsTheInteriorOnThem() throws {
        guard transparentHugePagesAllowed else { return }  // THP `never` or absent: nothing to see
        let x = try Self.features()
        let (start, count) = x.withUnsafeBufferPointer { (UInt(bitPattern: $0.baseAddress!), $0.count * 4) }
        // `MADV_HUGEPAGE` is not set on this memory, so with THP in `madvise` mode it starts on
        // small pages; with `always` it may already be huge, which the checks below allow.
        let smallPagesAtStart = Self.anonymousHugePageBytes(containing: start) < count - 2 * hugePageBytes
        _ = try Slices(x)
        #expect(Self.anonymousHugePageBytes(containing: start) < count - 2 * hugePageBytes || !smallPagesAtStart,
                "Slices alone left the pages alone")
        x.moveStorageToHugePages()
        // All of the 2 MiB-aligned interior: at least the size less two huge pages.
        let huge = Self.anonymousHugePageBytes(containing: start)
        if huge < count - 2 * hugePageBytes {
            // Refused in whole or part (a kernel before 6.1, no free huge page): allowed, if a
            // direct call is refused too.
            #expect(x.withUnsafeBufferPointer { collapseToHugePages(UnsafeRawBufferPointer($0)) } == 0,
                    "the move left \(count - huge) bytes on small pages although the kernel collapses them")
        }
    }

    /// `AnonHugePages` of the mapping that holds `address`, from /proc/self/smaps, in bytes.
    static func anonymousHugePageBytes(containing address: UInt) -> Int {
        let fd = open("/proc/self/smaps", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        var inside = false
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inside, fields.first == "AnonHugePages:", fields.count > 1, let kilobytes = Int(fields[1]) {
                return kilobytes * 1_024
            }
        }
        return 0
    }
    #endif
}
