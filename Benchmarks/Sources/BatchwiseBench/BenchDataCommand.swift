import ArgumentParser
import Batchwise
import Dispatch
import Foundation

/// `batchwise-bench data`: random-access reading of a float32 HDF5 file larger than the
/// page-cache-free memory one would budget for it (4 GiB by default, 256 features), against
/// grain (`MapDataset.source(h5py-backed source).shuffle(seed).batch(256)`) on the same files
/// in the same run (Benchmarks/peers/data_peer.py).
///
/// Two files are generated in a temporary folder, which is removed at the end, on an error
/// and on SIGINT/SIGTERM, and read through once before anything is timed (so both sides read
/// from the page cache): a contiguous one (`/x` and 0/1 targets `/y`) and a gzip-chunked one
/// (chunks of 1,024 rows = 1 MiB). Measured: rows/s of `globalShuffle(seed:)` over the
/// contiguous file (a Feistel permutation of all rows, each batch read by runs with pread) and
/// of the block shuffle of the gzip file (window of 16 one-chunk blocks), batches of 256 (one
/// `stackedElements` read each), each for `--seconds`; the peak RSS of each, against the chunk cache + 64 MiB; the
/// iterator state's size; and the peak RSS of one epoch of `TrainJob` (what `batchwise train`
/// runs) of a small model on the contiguous file, against 256 MiB.
struct BenchDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Random-access HDF5 reading (global and block shuffle) of a >= 4 GiB file against grain."
    )

    @Flag(help: "Print JSON rows instead of a table.") var json = false
    @Option(help: "Rows of the generated files (4,194,304 x 256 float32 = 4 GiB).") var rows = 4_194_304
    @Option(help: "Seconds each shuffle is timed for (on each side).") var seconds = 20.0
    @Option(help: "Chunk cache of the gzip source, MiB.") var cacheMiB = 32
    @Flag(help: "Skip the one-epoch TrainJob run.") var noTrain = false
    @Option(help: "Folder for the temporary files (default: the system's temporary folder).") var directory: String?

    static let features = 256
    static let chunkRows = 1_024
    static let batch = 256

    func run() throws {
        guard rows >= Self.chunkRows, seconds > 0, cacheMiB > 0 else {
            throw ValidationError("rows must be at least \(Self.chunkRows); seconds and cache must be positive")
        }
        let folder = URL(fileURLWithPath: directory ?? NSTemporaryDirectory())
            .appendingPathComponent("batchwise-bench-data-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let cleanup = TemporaryFolderGuard(folder)
        defer { cleanup.remove() }

        let contiguous = folder.appendingPathComponent("contiguous.h5"), gzip = folder.appendingPathComponent("gzip.h5")
        try DataBenchFiles.write(contiguous, rows: rows, compressed: false)
        try DataBenchFiles.write(gzip, rows: rows, compressed: true)
        // Both sides read from the page cache: the files are read through once first, and the
        // heap the generation left behind is returned, so peak RSS counts the reads only.
        try DataBenchFiles.warmPageCache(contiguous)
        try DataBenchFiles.warmPageCache(gzip)
        DataBenchFiles.returnFreedMemory()
        let baseline = ProcessMemory.statusBytes("VmRSS:")
        let load = DataBenchFiles.loadAverage()

        let cacheBytes = cacheMiB << 20
        let plain = try HDF5RowSource(file: contiguous, path: "/x", as: Float.self, cacheBytes: cacheBytes)
        let global = try measure(plain.globalShuffle(seed: 7), source: plain, windowRows: nil)
        let compressed = try HDF5RowSource(file: gzip, path: "/x", as: Float.self, cacheBytes: cacheBytes)
        let blocks = try measure(compressed.blockShuffle(windowBlocks: 16, seed: 7), source: compressed,
                                 windowRows: 16 * Self.chunkRows)
        let trainPeak = noTrain ? nil : try trainPeak(contiguous, folder: folder)

        let peer = PeerScript.run("Benchmarks/peers/data_peer.py",
                                  arguments: ["--contiguous", contiguous.path, "--gzip", gzip.path, "--seconds", "\(seconds)"])
        let mib = { (bytes: Int?) in bytes.map { Double($0) / 1_048_576 } }
        let bound = Double(cacheBytes) / 1_048_576 + 64
        let table = [
            BenchRow(workload: "global shuffle, contiguous, batch 256", batchwise: global.rowsPerSecond,
                     peer: PeerScript.value(peer, "global_shuffle_contiguous"), unit: "rows/s"),
            BenchRow(workload: "block shuffle (16 chunks), gzip, batch 256", batchwise: blocks.rowsPerSecond,
                     peer: PeerScript.value(peer, "global_shuffle_gzip"), unit: "rows/s"),
            BenchRow(workload: "RSS before the reads", batchwise: mib(baseline), peer: nil, unit: "MiB"),
            BenchRow(workload: "peak RSS, global shuffle (bound \(Int(bound)) MiB)", batchwise: mib(global.peakBytes),
                     peer: nil, unit: "MiB"),
            BenchRow(workload: "peak RSS, block shuffle (bound \(Int(bound)) MiB)", batchwise: mib(blocks.peakBytes),
                     peer: nil, unit: "MiB"),
            BenchRow(workload: "chunk decompressions per chunk, block shuffle", batchwise: blocks.readsPerBlock,
                     peer: nil, unit: "reads/chunk"),
            BenchRow(workload: "iterator state, global shuffle", batchwise: Double(global.stateBytes), peer: nil, unit: "bytes"),
            BenchRow(workload: "peak RSS, TrainJob one epoch (bound 256 MiB)", batchwise: mib(trainPeak), peer: nil, unit: "MiB"),
            BenchRow(workload: "load average (1 min) before timing", batchwise: load, peer: nil, unit: "load"),
        ]
        print(json ? try BenchReport.json(table) : BenchReport.table(table))
    }

    struct Measurement {
        var rowsPerSecond: Double
        var peakBytes: Int?
        var readsPerBlock: Double?
        var stateBytes: Int
    }

    /// Batches of 256 for `seconds` (whole epochs never needed; a block shuffle runs on to the end
    /// of a window of `windowRows`), their rows/s, the peak RSS, reads per chunk of `source`.
    private func measure<Shuffled: RandomAccessDataset>(_ shuffled: Shuffled, source: HDF5RowSource<Float>,
                                                        windowRows: Int?) throws -> Measurement
        where Shuffled.Element == Tensor<Float>, Shuffled.Iterator == RandomAccessIterator<Shuffled> {
        DataBenchFiles.returnFreedMemory()
        _ = ProcessMemory.resetPeak()
        let readsBefore = source.blockReads
        var iterator = shuffled.makeIterator(epoch: 0)
        var position = 0
        var checksum: Float = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        // A block shuffle runs on to the end of a window, so every block it loaded was used up.
        while (elapsed < seconds || windowRows.map({ position % $0 != 0 }) ?? false) && position < shuffled.count {
            let end = min(position + Self.batch, shuffled.count)
            guard let batch = try shuffled.stackedElements(at: Array(position..<end), epoch: 0) else {
                throw ValidationError("the source did not read a batch")
            }
            checksum += batch.scalars[0]
            position = end
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        // The state of an iterator standing where the timed loop stopped.
        while iterator.position < min(position, 3) { _ = try iterator.next() }
        let stateBytes = try iterator.state.encoded().count
        let blocksTouched = (Double(position) / Double(Self.chunkRows)).rounded(.up)
        let reads = source.blockReads - readsBefore
        if checksum.isNaN { throw ValidationError("read a NaN") }
        return Measurement(rowsPerSecond: Double(position) / elapsed, peakBytes: ProcessMemory.statusBytes("VmHWM:"),
                           readsPerBlock: source.isCompressed ? Double(reads) / max(1, blocksTouched) : nil,
                           stateBytes: stateBytes)
    }

    /// Peak RSS of one epoch of a 256-16-1 model trained by `TrainJob` on the contiguous file.
    private func trainPeak(_ data: URL, folder: URL) throws -> Int? {
        let model = try Sequential(inputFeatures: Self.features, [Dense(units: 16, activation: .relu),
                                                                 Dense(units: 1, activation: .sigmoid)], seed: 1)
        let modelURL = folder.appendingPathComponent("small.keras")
        try KerasModelFile.save(model, to: modelURL)
        var job = TrainJob(data: data, output: folder.appendingPathComponent("trained.h5"))
        job.model = modelURL
        job.loss = .binaryCrossentropy
        job.optimizer = .sgd
        job.batchSize = Self.batch
        job.epochs = 1
        DataBenchFiles.returnFreedMemory()
        _ = ProcessMemory.resetPeak()
        try job.run(progress: .quiet)
        return ProcessMemory.statusBytes("VmHWM:")
    }
}

/// Removes a folder when `remove()` is called, or when SIGINT or SIGTERM arrives first (then
/// exits with 128 + the signal), so an interrupted benchmark leaves no gigabytes behind.
final class TemporaryFolderGuard: @unchecked Sendable {
    private let folder: URL
    private var sources: [DispatchSourceSignal] = []

    init(_ folder: URL) {
        self.folder = folder
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [folder] in
                try? FileManager.default.removeItem(at: folder)
                exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }

    func remove() {
        try? FileManager.default.removeItem(at: folder)
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// The generated files and the machine's load.
enum DataBenchFiles {
    /// `/x` float32 [rows, 256] (value(r, c) a hash of (r, c) in [0, 1), which barely
    /// compresses, as measured data) and `/y` float32 [rows] (0 or 1), written 64 chunks at a
    /// time; gzip level 1 in chunks of 1,024 rows when `compressed`.
    static func write(_ url: URL, rows: Int, compressed: Bool) throws {
        let features = BenchDataCommand.features, chunk = BenchDataCommand.chunkRows
        let file = try HDF5File.create(at: url)
        let options: HDF5DatasetOptions = compressed ? .compressed(level: 1, chunkShape: [chunk, features]) : .contiguous
        try file.createDataset("x", of: Float.self, shape: [rows, features], options: options).close()
        let x = try file.dataset(at: "x", chunkCache: .streaming(rows: 64 * chunk))
        var y: [Float] = []
        y.reserveCapacity(rows)
        var start = 0
        while start < rows {
            let count = min(64 * chunk, rows - start)
            var values = [Float](repeating: 0, count: count * features)
            for index in values.indices { values[index] = value(start * features + index) }
            try x.writeRows(values, startingAt: start)
            for row in start..<(start + count) { y.append(values[(row - start) * features] < 0.5 ? 0 : 1) }
            start += count
        }
        try x.close()
        try file.write(y, shape: [rows], to: "y")
        try file.close()
    }

    /// A hash of the element's flat index as a 24-bit fraction in [0, 1).
    static func value(_ index: Int) -> Float {
        var z = UInt64(index) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Float((z ^ (z >> 31)) >> 40) / 16_777_216
    }

    /// Returns the heap memory freed so far to the system (glibc's `malloc_trim`, which Swift's
    /// Glibc module does not export, looked up at run time; nothing elsewhere).
    static func returnFreedMemory() {
        #if os(Linux)
        typealias MallocTrim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        #endif
    }

    /// Reads `url` through once, 64 MiB at a time, so that it sits in the page cache.
    static func warmPageCache(_ url: URL) throws {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        while let data = try handle.read(upToCount: 64 << 20), !data.isEmpty {}
    }

    /// The 1-minute load average (the machine is shared), or nil without /proc/loadavg.
    static func loadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }
}
