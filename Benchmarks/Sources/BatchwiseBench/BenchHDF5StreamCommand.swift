import ArgumentParser
import Batchwise
import Foundation

/// `batchwise-bench hdf5-stream`: peak resident memory while `HDF5Rows` streams a gzip-chunked
/// file several times larger than its memory bound, against that bound.
///
/// The bound is what the streaming design allows: the chunk cache `HDF5Rows` opens the
/// dataset with (`.streaming(rows: chunkRows)`: the bands of chunks one block touches), the
/// block of `chunkRows` rows being read and the one being handed out, one batch, and a fixed
/// allowance for libhdf5's own buffers (metadata cache, the decompression buffer). The same
/// stream with the `.automatic` cache (what `HDF5Rows` used before) is measured second, for
/// comparison: that cache grows to hold every chunk of the pass.
///
/// Linux only: peak RSS is `VmHWM` from /proc/self/status, reset between the two streams by
/// writing 5 to /proc/self/clear_refs.
struct BenchHDF5StreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hdf5-stream",
        abstract: "Peak RSS while HDF5Rows streams a gzip file many times its memory bound (no peer)."
    )

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    @Option(name: .long, help: "Rows of the float32 dataset.")
    var rows = 800_000

    @Option(name: .long, help: "Columns of the float32 dataset.")
    var columns = 32

    @Option(name: .long, help: "Rows per chunk in the file (whole rows per chunk).")
    var fileChunkRows = 4_096

    @Option(name: .long, help: "HDF5Rows chunkRows: rows read per HDF5 call.")
    var readRows = 4_096

    @Option(name: .long, help: "Rows per batch.")
    var batch = 128

    @Flag(name: .long, help: "Skip the comparison stream with the .automatic (whole-dataset) cache.")
    var noAutomatic = false

    /// Room for libhdf5's metadata cache, its decompression buffer and allocator slack.
    static let allowanceBytes = 8 << 20

    func run() throws {
        guard rows > 0, columns > 0, fileChunkRows > 0, readRows > 0, batch > 0 else {
            throw ValidationError("rows, columns, chunk rows, read rows and batch must all be positive")
        }
        let directory = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("batchwise-bench-hdf5-stream-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("stream.h5")
        try writeFile(url)
        let fileBytes = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0

        let rowBytes = columns * 4
        let chunkBytes = fileChunkRows * rowBytes
        let bands = (readRows - 1 + fileChunkRows - 1) / fileChunkRows + 1
        let cacheBytes = min(bands * chunkBytes, (rows + fileChunkRows - 1) / fileChunkRows * chunkBytes)
        let boundBytes = cacheBytes + 2 * readRows * rowBytes + batch * rowBytes + Self.allowanceBytes

        let streaming = try peakGrowth(url, cache: nil)
        let automatic = noAutomatic ? nil : try peakGrowth(url, cache: .automatic)
        let mib = { (bytes: Int) in Double(bytes) / 1_048_576 }
        var table = [
            BenchRow(workload: "dataset, decompressed", batchwise: mib(rows * rowBytes), peer: nil, unit: "MiB"),
            BenchRow(workload: "file on disk (gzip)", batchwise: mib(fileBytes), peer: nil, unit: "MiB"),
            BenchRow(workload: "bound: cache + 2 blocks + batch + 8 MiB", batchwise: mib(boundBytes), peer: nil, unit: "MiB"),
            BenchRow(workload: "peak RSS growth, HDF5Rows default cache", batchwise: streaming.map(mib), peer: nil, unit: "MiB"),
        ]
        if !noAutomatic {
            table.append(BenchRow(workload: "peak RSS growth, .automatic cache (before)", batchwise: automatic.map(mib),
                                  peer: nil, unit: "MiB"))
        }
        let verdict = streaming.map { $0 <= boundBytes ? "PASS" : "FAIL" } ?? "UNMEASURED (no /proc/self/status)"
        if json {
            struct Report: Codable {
                var benchmark = "hdf5-stream"
                var datasetRows: Int
                var columns: Int
                var fileChunkRows: Int
                var readRows: Int
                var batch: Int
                var chunkCacheBytes: Int
                var boundBytes: Int
                var verdict: String
                var hdf5: String
                var rows: [BenchRow]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let report = Report(datasetRows: rows, columns: columns, fileChunkRows: fileChunkRows, readRows: readRows, batch: batch,
                                chunkCacheBytes: cacheBytes, boundBytes: boundBytes, verdict: verdict,
                                hdf5: HDF5Library.version, rows: table)
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("batchwise-bench hdf5-stream: \(rows) x \(columns) float32, gzip chunks of \(fileChunkRows) rows, "
                  + "read \(readRows) rows at a time, batches of \(batch); libhdf5 \(HDF5Library.version)")
            print(BenchReport.table(table))
            print("streaming within the bound: \(verdict)")
        }
        if streaming.map({ $0 > boundBytes }) ?? false { throw ExitCode(1) }
    }

    /// The file, written a slab (one chunk) at a time through a one-band cache, so that writing
    /// it does not leave the allocator holding a dataset's worth of freed chunks, which the
    /// measured streams would then reuse without raising the peak.
    private func writeFile(_ url: URL) throws {
        let file = try HDF5File.create(at: url)
        try file.createDataset("x", of: Float.self, shape: [rows, columns],
                               options: .compressed(level: 4, chunkShape: [fileChunkRows, columns])).close()
        let dataset = try file.dataset(at: "x", chunkCache: .streaming(rows: fileChunkRows))
        var start = 0
        while start < rows {
            let count = min(fileChunkRows, rows - start)
            try dataset.writeRows((0..<(count * columns)).map { value(row: start + $0 / columns, column: $0 % columns) },
                                  startingAt: start)
            start += count
        }
        try file.close()
    }

    /// Row `r`, column `c` holds a hash of (r, c) as a 24-bit fraction in [0, 1): like measured
    /// data, it barely compresses, so the file on disk is as large as the bound says it is.
    func value(row: Int, column: Int) -> Float {
        var z = UInt64(row * columns + column) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Float((z ^ (z >> 31)) >> 40) / 16_777_216
    }

    /// Peak RSS above the resident size at the start of one full pass through
    /// `HDF5Rows(...).batch(batch)`, checking every row's first value on the way; `nil` where
    /// /proc is unavailable.
    private func peakGrowth(_ url: URL, cache: HDF5ChunkCache?) throws -> Int? {
        guard ProcessMemory.resetPeak(), let before = ProcessMemory.statusBytes("VmRSS:") else { return nil }
        let source = try HDF5Rows(file: url, path: "/x", as: Float.self, chunkRows: readRows, chunkCache: cache)
        var iterator = source.batch(batch).makeIterator()
        var seen = 0
        while let rowsOfBatch = try iterator.next() {
            let values = rowsOfBatch.scalars
            for first in stride(from: 0, to: values.count, by: columns) {
                guard values[first] == value(row: seen, column: 0) else {
                    throw ValidationError("row \(seen) read back a different value")
                }
                seen += 1
            }
        }
        guard seen == rows else { throw ValidationError("streamed \(seen) rows of \(rows)") }
        guard let peak = ProcessMemory.statusBytes("VmHWM:") else { return nil }
        return max(0, peak - before)
    }
}
