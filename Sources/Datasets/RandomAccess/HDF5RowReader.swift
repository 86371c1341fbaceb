import Foundation
import HDF5
import Tensors

/// Reads batches of rows of an ``HDF5RowLayout``: the open files and the block cache one
/// ``HDF5RowSource`` (and every copy of it) shares.
///
/// - **Contiguous datasets** are read by runs: a batch's rows are sorted, consecutive rows
///   merged, and each run is one read (`pread(2)` straight from the file when libhdf5 allows,
///   see `HDF5Dataset.readRows(at:as:)`).
/// - **Chunked datasets** are read by block: the rows one band of chunks covers are read in
///   one aligned libhdf5 read (each chunk decompressed once) and kept in a cache of at most
///   `cacheBytes` (least recently used block evicted first, always room for one block), from
///   which the batch's rows are copied. libhdf5's own chunk cache is switched off for these
///   datasets, so decompressed data is held once.
///
/// Files are opened read-only on first use and closed when the last copy of the source goes.
/// A failed read throws ``DatasetError/sourceFailed(source:index:underlying:)`` naming
/// `file:path` and the row inside that file.
final class HDF5RowReader<Scalar: HDF5Scalar & TensorScalar>: @unchecked Sendable {
    let layout: HDF5RowLayout
    /// The most bytes of decompressed blocks kept (at least one block is always kept).
    let cacheBytes: Int

    private let lock = NSLock()
    private var open: [Int: (file: HDF5File, dataset: HDF5Dataset)] = [:]
    /// Cached blocks, least recently used first.
    private var blocks: [(block: Int, values: [Scalar])] = []
    private var cachedBytes = 0
    private var blockReadCount = 0

    init(layout: HDF5RowLayout, cacheBytes: Int) {
        self.layout = layout
        self.cacheBytes = Swift.max(0, cacheBytes)
    }

    deinit {
        for (_, entry) in open { try? entry.file.close() }
    }

    /// Blocks read (and decompressed) from the files so far; cache hits do not count.
    var blockReads: Int { lock.withLock { blockReadCount } }

    /// The scalars of the rows at `indices` (global, in range, repeats allowed), row after row.
    func scalars(at indices: [Int]) throws -> [Scalar] {
        try lock.withLock {
            if layout.blockRows != nil { return try blockScalars(at: indices) }
            return try runScalars(at: indices)
        }
    }

    /// The scalars of rows `range` (global, in range), in order.
    func scalars(in range: Range<Int>) throws -> [Scalar] {
        if layout.blockRows == nil, !range.isEmpty {
            let first = layout.locate(row: range.lowerBound)
            let last = layout.locate(row: range.upperBound - 1)
            if first.file == last.file {
                return try lock.withLock {
                    try reading(file: first.file, row: first.row) { dataset in
                        try dataset.readRows(first.row..<last.row + 1, as: Scalar.self).values
                    }
                }
            }
        }
        return try scalars(at: Array(range))
    }

    // MARK: - Inside the lock

    private func runScalars(at indices: [Int]) throws -> [Scalar] {
        let width = layout.width
        if layout.files.count == 1 {
            return try reading(file: 0, row: indices.first ?? 0) { try $0.readRows(at: indices, as: Scalar.self).values }
        }
        var byFile: [Int: (outputs: [Int], rows: [Int])] = [:]
        for (output, index) in indices.enumerated() {
            let (file, row) = layout.locate(row: index)
            byFile[file, default: ([], [])].outputs.append(output)
            byFile[file, default: ([], [])].rows.append(row)
        }
        var result = [Scalar](repeating: Scalar.zero, count: indices.count * width)
        for file in byFile.keys.sorted() {
            let (outputs, rows) = byFile[file]!
            let values = try reading(file: file, row: rows[0]) { try $0.readRows(at: rows, as: Scalar.self).values }
            for (k, output) in outputs.enumerated() {
                result.replaceSubrange(output * width..<(output + 1) * width, with: values[k * width..<(k + 1) * width])
            }
        }
        return result
    }

    private func blockScalars(at indices: [Int]) throws -> [Scalar] {
        let width = layout.width
        let blockRows = layout.blockRows!
        // Rows grouped by block, blocks in the order the batch first touches them, so that a
        // batch crossing from one shuffle window into the next uses the old window's blocks
        // (and lets them age) before it loads the new one's.
        var order: [Int] = []
        var members: [Int: [(output: Int, offset: Int)]] = [:]
        for (output, index) in indices.enumerated() {
            let (file, row) = layout.locate(row: index)
            let block = layout.firstBlock[file] + row / blockRows
            if members[block] == nil { order.append(block) }
            members[block, default: []].append((output, row % blockRows))
        }
        var result = [Scalar](repeating: Scalar.zero, count: indices.count * width)
        for block in order {
            let values = try blockValues(block)
            for (output, offset) in members[block]! {
                result.replaceSubrange(output * width..<(output + 1) * width, with: values[offset * width..<(offset + 1) * width])
            }
        }
        return result
    }

    private func blockValues(_ block: Int) throws -> [Scalar] {
        if let slot = blocks.firstIndex(where: { $0.block == block }) {
            let entry = blocks.remove(at: slot)
            blocks.append(entry)
            return entry.values
        }
        let (file, rows) = layout.rows(ofBlock: block)
        let values = try reading(file: file, row: rows.lowerBound) { try $0.readRows(rows, as: Scalar.self).values }
        blockReadCount += 1
        let bytes = values.count * MemoryLayout<Scalar>.stride
        while !blocks.isEmpty && cachedBytes + bytes > cacheBytes {
            cachedBytes -= blocks.removeFirst().values.count * MemoryLayout<Scalar>.stride
        }
        blocks.append((block, values))
        cachedBytes += bytes
        return values
    }

    /// Runs `body` on file `file`'s dataset, opening it on first use; any failure becomes
    /// ``DatasetError/sourceFailed(source:index:underlying:)`` naming the file, path and `row`.
    private func reading<T>(file: Int, row: Int, _ body: (HDF5Dataset) throws -> T) throws -> T {
        do {
            if let entry = open[file] { return try body(entry.dataset) }
            let handle = try HDF5File.open(at: layout.files[file], mode: .readOnly, locking: .bestEffort)
            do {
                // The block cache above holds decompressed chunks; libhdf5's would hold them twice.
                let dataset = try handle.dataset(at: layout.path, chunkCache: .bytes(0))
                open[file] = (handle, dataset)
                return try body(dataset)
            } catch {
                if open[file] == nil { try? handle.close() }
                throw error
            }
        } catch {
            throw DatasetError.sourceFailed(source: "\(layout.files[file].path):\(layout.path)", index: row, underlying: error)
        }
    }
}
