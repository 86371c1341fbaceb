import CBLAS  // only for `bw_prefetch`, a software prefetch

/// Copies the rows at `indices` (each `rowBytes` long, all in range) of `source` to consecutive
/// rows of `target`: the copy behind `batch` over a shuffle of tensor `Slices`.
///
/// Rows picked at random from a large array are each a new stream for the hardware prefetcher,
/// and one `memcpy` per row waits out every row's first cache misses in turn. Copying a group of
/// eight rows together, 64 bytes of each in turn, keeps eight streams in flight. On the 2-core
/// development machine (AMD EPYC) this moved 3,136-byte MNIST rows about 1.3x as fast as a
/// `memcpy` per row; groups of 4 and 12 were slower, 16 much slower. Short rows fit a cache line
/// or two, where a plain copy per row is as good.
///
/// The hardware prefetcher only starts on a row after its first misses, so while a group is
/// copied, line by line, the same lines of the next group's rows are prefetched into L2
/// (`bw_prefetch`): in a stand-alone test on that machine this moved random MNIST rows about
/// 1.4x as fast per CPU second as the groups alone (touching the next rows with ordinary loads
/// instead was slower than not prefetching at all).
///
/// What the copy still waits for is mostly address translation: on 4 KiB pages each random
/// row of a large source is a TLB miss. Large tensor sources are therefore moved onto 2 MiB
/// pages when their `Slices` are made (`collapseToHugePages`); the copy itself does not change.
/// Non-temporal stores for the batch were measured and not taken: a 400 KB batch fits the L2
/// cache and the trainer reads it next.
///
/// ```swift
/// [7, 2].withUnsafeBufferPointer {     // rows 7 and 2 of `source` become rows 0 and 1 of `batch`
///     gatherRows(from: source, rowBytes: 3_136, indices: $0, into: batch)
/// }
/// ```
@usableFromInline
func gatherRows(from source: UnsafeRawPointer, rowBytes: Int, indices: UnsafeBufferPointer<Int>,
                into target: UnsafeMutableRawPointer) {
    guard rowBytes >= interleavedRowBytes else {
        for (k, index) in indices.enumerated() {
            (target + k * rowBytes).copyMemory(from: source + index * rowBytes, byteCount: rowBytes)
        }
        return
    }
    let body = rowBytes & ~63
    // rows[0..<gatherGroup]: the group being copied; rows[gatherGroup...]: the next group, whose
    // lines are prefetched into L2 one by one as the same lines of this group are copied.
    withUnsafeTemporaryAllocation(of: UnsafeRawPointer.self, capacity: 2 * gatherGroup) { rows in
        var first = 0, count = Swift.min(gatherGroup, indices.count)
        for j in 0..<count { rows[j] = source + indices[j] * rowBytes }
        while first < indices.count {
            let next = first + count, nextCount = Swift.min(gatherGroup, indices.count - next)
            for j in 0..<nextCount { rows[gatherGroup + j] = source + indices[next + j] * rowBytes }
            let out = target + first * rowBytes
            var offset = 0
            while offset < body {
                for j in 0..<count { copyLine(to: out + j * rowBytes + offset, from: rows[j] + offset) }
                for j in 0..<nextCount { bw_prefetch(rows[gatherGroup + j] + offset) }
                offset += 64
            }
            for j in 0..<nextCount { bw_prefetch(rows[gatherGroup + j] + (rowBytes - 1)) }
            if body < rowBytes {
                for j in 0..<count {
                    (out + j * rowBytes + body).copyMemory(from: rows[j] + body, byteCount: rowBytes - body)
                }
            }
            for j in 0..<nextCount { rows[j] = rows[gatherGroup + j] }
            first = next
            count = nextCount
        }
    }
}

/// Starts loading the first cache line of the rows at `indices` (each `rowBytes` long) without
/// waiting for it: a batch's labels are prefetched before its features are copied, so that the
/// label copy after them does not wait out one cache miss per row.
@usableFromInline
func prefetchRows(from source: UnsafeRawPointer, rowBytes: Int, indices: UnsafeBufferPointer<Int>) {
    for index in indices { bw_prefetch(source + index * rowBytes) }
}

/// Rows copied together (see ``gatherRows(from:rowBytes:indices:into:)``).
let gatherGroup = 8
/// Below this row length the gather copies row by row.
let interleavedRowBytes = 256

/// One 64-byte cache line, unaligned on both sides.
@inline(__always)
private func copyLine(to target: UnsafeMutableRawPointer, from source: UnsafeRawPointer) {
    let low = source.loadUnaligned(as: SIMD4<UInt64>.self)
    let high = source.loadUnaligned(fromByteOffset: 32, as: SIMD4<UInt64>.self)
    target.storeBytes(of: low, as: SIMD4<UInt64>.self)
    target.storeBytes(of: high, toByteOffset: 32, as: SIMD4<UInt64>.self)
}
