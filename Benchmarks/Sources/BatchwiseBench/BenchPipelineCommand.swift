import ArgumentParser
import Batchwise
import Foundation
import Synchronization

/// `batchwise-bench pipeline`: the Datasets workloads of issue 3 beside tf.data
/// (Benchmarks/peers/pipeline_peer.py) in the same invocation: the seed pipeline, an
/// MNIST-size pipeline, a 1 ms map with 1 and 2 workers while the consumer also works 1 ms
/// per element, and the time to the first batch through a 10,000-element shuffle buffer.
struct BenchPipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline", abstract: "Input-pipeline throughput vs tf.data.")

    @Flag(help: "Print JSON rows instead of a table.") var json = false
    @Option(help: "Timed seconds per workload.") var seconds: Double = 3
    @Flag(help: "Measure Batchwise only.") var noPeer = false
    @Flag(help: "Only the seed and MNIST pipelines, Batchwise only (for profiling).") var pipelinesOnly = false
    @Option(help: "Only this workload, Batchwise only (for profiling): seed, seed-without-prefetch, seed-slices, mnist, randomaccess or map.") var only: String?

    func run() throws {
        if let only { return try profile(only) }
        var rng = SplitMix64(seed: 0)
        let (x, y) = try Self.seedData(&rng)
        let seedPipeline = try Slices(x, y).shuffle(bufferSize: 10_000, seed: 18).repeat().batch(32).prefetch(2)
        // The same without prefetch: the pipeline's own cost, without the thread hand-off. The
        // two are timed in alternating slices, so that a change of load hits both alike.
        let seedWithoutPrefetch = try Slices(x, y).shuffle(bufferSize: 10_000, seed: 18).repeat().batch(32)
        var (seedRate, seedInline) = try Self.interleavedRates(seedPipeline, seedWithoutPrefetch, seconds: seconds)

        let (mx, my) = try Self.mnistData(&rng)
        // The same data through the random-access path: a global shuffle, rows gathered per batch,
        // alternating with the same over a copy on small pages; the first `Slices` built is timed.
        let randomAccess = try RandomAccessAB.measure(mx, my, seconds: seconds)
        let mnist = try Slices(mx, my).shuffle(bufferSize: 60_000, seed: 1).repeat().batch(128).prefetch(2)
        let mnistWithoutPrefetch = try Slices(mx, my).shuffle(bufferSize: 60_000, seed: 1).repeat().batch(128)
        var (mnistRate, mnistInline) = try Self.interleavedRates(mnist, mnistWithoutPrefetch, seconds: seconds)
        mnistRate *= 128
        mnistInline *= 128
        let randomAccessCPUShare = try Self.randomAccessCPUShare(mx, my, seconds: seconds)
        var memcpy = MemcpyReference.measure(seconds: seconds)
        if pipelinesOnly {
            print(BenchReport.table([
                BenchRow(workload: "seed_pipeline", batchwise: seedRate, peer: nil, unit: "batches/s"),
                BenchRow(workload: "seed_pipeline_without_prefetch", batchwise: seedInline, peer: nil, unit: "batches/s"),
                BenchRow(workload: "mnist_pipeline", batchwise: mnistRate, peer: nil, unit: "elements/s"),
                BenchRow(workload: "mnist_pipeline_without_prefetch", batchwise: mnistInline, peer: nil, unit: "elements/s"),
                BenchRow(workload: "mnist_pipeline_bandwidth", batchwise: mnistRate * Self.bytesPerElement / 1e6, peer: nil, unit: "MB/s"),
            ] + Self.memcpyRows(mnistRate: mnistRate, memcpy: memcpy)
              + randomAccess.rows(memcpy: memcpy, cpuShare: randomAccessCPUShare)))
            return
        }

        let cores = Self.coresAvailable(seconds: 0.5)
        let (serialRate, mapRates) = try Self.mapRates(seconds: seconds)

        let start = DispatchTime.now().uptimeNanoseconds
        var first = try Slices(x, y).shuffle(bufferSize: 10_000, seed: 3).batch(32).makeIterator()
        _ = try first.next()
        let firstBatch = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        let peer = noPeer ? nil : PeerScript.run("Benchmarks/peers/pipeline_peer.py", arguments: ["--seconds", "\(seconds)"])
        if peer != nil {
            // The machine is shared: measuring the two throughput pipelines again after the peer
            // and averaging brackets the peer's time window, so load drift favours neither side.
            let (seedAfter, seedInlineAfter) = try Self.interleavedRates(seedPipeline, seedWithoutPrefetch, seconds: seconds)
            seedRate = (seedRate + seedAfter) / 2
            seedInline = (seedInline + seedInlineAfter) / 2
            let (mnistAfter, mnistInlineAfter) = try Self.interleavedRates(mnist, mnistWithoutPrefetch, seconds: seconds)
            mnistRate = (mnistRate + mnistAfter * 128) / 2
            mnistInline = (mnistInline + mnistInlineAfter * 128) / 2
            memcpy.sustained = (memcpy.sustained + Self.sustainedMemcpyBandwidth(bytes: Self.mnistBytes, seconds: seconds)) / 2
        }
        let bytesPerElement = Self.bytesPerElement
        let rows = [
            BenchRow(workload: "seed_pipeline", batchwise: seedRate, peer: PeerScript.value(peer, "seed_pipeline"), unit: "batches/s"),
            BenchRow(workload: "seed_pipeline_without_prefetch", batchwise: seedInline, peer: nil, unit: "batches/s"),
            BenchRow(workload: "seed_prefetch_vs_without", batchwise: seedRate / seedInline, peer: nil, unit: "x"),
            BenchRow(workload: "mnist_pipeline", batchwise: mnistRate, peer: PeerScript.value(peer, "mnist_pipeline"), unit: "elements/s"),
            BenchRow(workload: "mnist_pipeline_bandwidth", batchwise: mnistRate * bytesPerElement / 1e6,
                     peer: PeerScript.value(peer, "mnist_pipeline").map { $0 * bytesPerElement / 1e6 }, unit: "MB/s"),
            BenchRow(workload: "mnist_pipeline_without_prefetch", batchwise: mnistInline, peer: nil, unit: "elements/s"),
            BenchRow(workload: "mnist_prefetch_vs_without", batchwise: mnistRate / mnistInline, peer: nil, unit: "x"),
        ] + Self.memcpyRows(mnistRate: mnistRate, memcpy: memcpy)
          + randomAccess.rows(memcpy: memcpy, cpuShare: randomAccessCPUShare) + [
            BenchRow(workload: "cores_available", batchwise: cores, peer: nil, unit: "cores"),
            BenchRow(workload: "map_1ms_1_worker", batchwise: mapRates[0], peer: PeerScript.value(peer, "map_1ms_1_worker"), unit: "elements/s"),
            BenchRow(workload: "map_1ms_2_workers", batchwise: mapRates[1], peer: PeerScript.value(peer, "map_1ms_2_workers"), unit: "elements/s"),
            BenchRow(workload: "map_1ms_serial", batchwise: serialRate, peer: nil, unit: "elements/s"),
            BenchRow(workload: "map_speedup_2_workers_vs_serial", batchwise: mapRates[1] / serialRate, peer: nil, unit: "x"),
            BenchRow(workload: "map_1ms_serial_prefetch", batchwise: mapRates[2], peer: nil, unit: "elements/s"),
            BenchRow(workload: "map_speedup_prefetch_only_vs_serial", batchwise: mapRates[2] / serialRate, peer: nil, unit: "x"),
            BenchRow(workload: "first_batch", batchwise: firstBatch, peer: PeerScript.value(peer, "first_batch"), unit: "s",
                     lowerIsBetter: true),
        ]
        print(json ? try BenchReport.json(rows) : BenchReport.table(rows))
    }

    /// One workload alone, Batchwise only, so that `perf record` sees nothing else.
    func profile(_ workload: String) throws {
        var rng = SplitMix64(seed: 0)
        var rows: [BenchRow] = []
        switch workload {
        case "seed-slices":
            // Eight alternating slices of the seed pipeline with and without prefetch, each from
            // a fresh iterator of the same two dataset values: the spread under load.
            let (x, y) = try Self.seedData(&rng)
            let batches = try Slices(x, y).shuffle(bufferSize: 10_000, seed: 18).repeat().batch(32)
            let prefetched = batches.prefetch(2)
            // Also the process's CPU time per batch (both threads), which a loaded machine
            // disturbs much less than the wall-clock rate.
            var cpu = (0.0, 0.0), count = (0.0, 0.0)
            for slice in 0..<8 {
                let cpuBefore = Self.processCPUSeconds()
                let with = try Self.rate(prefetched, seconds: seconds)
                let cpuBetween = Self.processCPUSeconds()
                let without = try Self.rate(batches, seconds: seconds)
                cpu.0 += cpuBetween - cpuBefore
                cpu.1 += Self.processCPUSeconds() - cpuBetween
                count.0 += with * seconds
                count.1 += without * seconds
                rows.append(BenchRow(workload: "seed_slice_\(slice)_prefetch_vs_without", batchwise: with / without,
                                     peer: nil, unit: "x"))
            }
            rows.append(BenchRow(workload: "seed_cpu_per_batch", batchwise: 1e6 * cpu.0 / count.0, peer: nil, unit: "µs"))
            rows.append(BenchRow(workload: "seed_without_prefetch_cpu_per_batch", batchwise: 1e6 * cpu.1 / count.1,
                                 peer: nil, unit: "µs"))
        case "seed-without-prefetch":
            let (x, y) = try Self.seedData(&rng)
            let rate = try Self.rate(Slices(x, y).shuffle(bufferSize: 10_000, seed: 18).repeat().batch(32), seconds: seconds)
            rows.append(BenchRow(workload: "seed_pipeline_without_prefetch", batchwise: rate, peer: nil, unit: "batches/s"))
        case "seed":
            let (x, y) = try Self.seedData(&rng)
            let rate = try Self.rate(Slices(x, y).shuffle(bufferSize: 10_000, seed: 18).repeat().batch(32).prefetch(2), seconds: seconds)
            rows.append(BenchRow(workload: "seed_pipeline", batchwise: rate, peer: nil, unit: "batches/s"))
        case "mnist":
            let (mx, my) = try Self.mnistData(&rng)
            let rate = try Self.rate(Slices(mx, my).shuffle(bufferSize: 60_000, seed: 1).repeat().batch(128).prefetch(2),
                                     seconds: seconds) * 128
            rows.append(BenchRow(workload: "mnist_pipeline", batchwise: rate, peer: nil, unit: "elements/s"))
            rows.append(BenchRow(workload: "mnist_pipeline_bandwidth", batchwise: rate * Self.bytesPerElement / 1e6,
                                 peer: nil, unit: "MB/s"))
            rows += Self.memcpyRows(mnistRate: rate, memcpy: MemcpyReference.measure(seconds: seconds))
        case "randomaccess":
            let (mx, my) = try Self.mnistData(&rng)
            let randomAccess = try RandomAccessAB.measure(mx, my, seconds: seconds)
            let cpuShare = try Self.randomAccessCPUShare(mx, my, seconds: seconds)
            let memcpy = MemcpyReference.measure(seconds: seconds)
            rows += Self.memcpyRows(mnistRate: nil, memcpy: memcpy) + randomAccess.rows(memcpy: memcpy, cpuShare: cpuShare)
        case "map":
            rows.append(BenchRow(workload: "cores_available", batchwise: Self.coresAvailable(seconds: 0.5), peer: nil, unit: "cores"))
            let (serial, parallel) = try Self.mapRates(seconds: seconds)
            rows.append(BenchRow(workload: "map_1ms_serial", batchwise: serial, peer: nil, unit: "elements/s"))
            rows.append(BenchRow(workload: "map_1ms_2_workers", batchwise: parallel[1], peer: nil, unit: "elements/s"))
            rows.append(BenchRow(workload: "map_speedup_2_workers_vs_serial", batchwise: parallel[1] / serial, peer: nil, unit: "x"))
            rows.append(BenchRow(workload: "map_1ms_serial_prefetch", batchwise: parallel[2], peer: nil, unit: "elements/s"))
            rows.append(BenchRow(workload: "map_speedup_prefetch_only_vs_serial", batchwise: parallel[2] / serial, peer: nil, unit: "x"))
        default:
            throw ValidationError("--only takes seed, seed-without-prefetch, seed-slices, mnist, randomaccess or map, not \(workload)")
        }
        print(BenchReport.table(rows))
    }

    /// The seed pipeline's source: 10,000 x 1 float64 features and 0/1 labels.
    static func seedData(_ rng: inout SplitMix64) throws -> (Tensor<Double>, Tensor<Int64>) {
        let x = try Tensor<Double>(shape: [10_000, 1], scalars: (0..<10_000).map { _ in rng.nextNormal() })
        return (x, try Tensor<Int64>(shape: [10_000], scalars: x.scalars.map { $0 > 0 ? 1 : 0 }))
    }

    /// The MNIST-size source: 60,000 x 784 float32 features and labels 0..<10.
    static func mnistData(_ rng: inout SplitMix64) throws -> (Tensor<Float>, Tensor<Int64>) {
        let x = try Tensor<Float>(shape: [60_000, 784], scalars: (0..<(60_000 * 784)).map { _ in rng.nextUniformFloat() })
        return (x, try Tensor<Int64>(shape: [60_000], scalars: (0..<60_000).map { _ in Int64(rng.nextIndex(below: 10)) }))
    }

    /// The 1 ms map: the serial rate (map and consumer work on one thread, no overlap), then the
    /// rates with 1 and 2 workers plus prefetch while the consumer also works 1 ms per element,
    /// and the serial map with only `prefetch(2)` after it.
    static func mapRates(seconds: Double) throws -> (serial: Double, parallel: [Double]) {
        let serial = RangeDataset(0..<(1 << 30)).map { value -> Int in
            busy(milliseconds: 1)
            return value
        }
        let serialBefore = try rate(serial, seconds: seconds) { busy(milliseconds: 1) }
        var mapRates: [Double] = []
        for workers in [1, 2] {
            let mapped = RangeDataset(0..<(1 << 30)).map(parallelism: workers) { value -> Int in
                busy(milliseconds: 1)
                return value
            }.prefetch(2)
            mapRates.append(try rate(mapped, seconds: seconds) { busy(milliseconds: 1) })
        }
        // The serial map behind prefetch alone: only the prefetch thread overlaps the two sides.
        mapRates.append(try rate(serial.prefetch(2), seconds: seconds) { busy(milliseconds: 1) })
        // Serial again after the parallel runs, averaged, so load drift favours neither side.
        let serialAfter = try rate(serial, seconds: seconds) { busy(milliseconds: 1) }
        return ((serialBefore + serialAfter) / 2, mapRates)
    }

    /// The rates of `first` and `second` (`rate(_:seconds:)`), each measured in `slices`
    /// alternating slices of `seconds / slices` and averaged.
    static func interleavedRates<A: Dataset, B: Dataset>(_ first: A, _ second: B, seconds: Double,
                                                         slices: Int = 4) throws -> (Double, Double) {
        var rates = (0.0, 0.0)
        for _ in 0..<slices {
            rates.0 += try rate(first, seconds: seconds / Double(slices)) / Double(slices)
            rates.1 += try rate(second, seconds: seconds / Double(slices)) / Double(slices)
        }
        return rates
    }

    /// Elements per second pulled from a fresh iterator after one warm-up element; `consume`
    /// runs after each element (the trainer's share of the work).
    static func rate<D: Dataset>(_ dataset: D, seconds: Double, consume: () -> Void = {}) throws -> Double {
        var iterator = dataset.makeIterator()
        _ = try iterator.next()
        var count = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        while elapsed < seconds {
            guard try iterator.next() != nil else { break }
            consume()
            count += 1
            if count % 16 == 0 { elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        }
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Double(count) / elapsed
    }

    /// CPU time of the whole process so far (all threads), in seconds.
    static func processCPUSeconds() -> Double {
        var used = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used)
        return Double(used.tv_sec) + Double(used.tv_nsec) / 1e9
    }

    static func busy(milliseconds: Double) {
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(milliseconds * 1e6)
        while DispatchTime.now().uptimeNanoseconds < end {}
    }

    /// Bytes one MNIST-size element moves: a 784-float row and an 8-byte label.
    static let bytesPerElement = Double(784 * 4 + 8)
    /// The MNIST-size features: the pipeline's source, and the size of the sustained memcpy.
    static let mnistBytes = 60_000 * 784 * 4

    /// The MNIST-size pipeline through the random-access path (issue 15): `globalShuffle`,
    /// `repeat`, `batch(128)`, no prefetch, so the rate is the pipeline's own.
    static func randomAccessMNIST(_ x: Tensor<Float>, _ y: Tensor<Int64>) throws -> some Dataset<(Tensor<Float>, Tensor<Int64>)> {
        try Slices(x, y).globalShuffle(seed: 1).repeat().batch(128)
    }

    /// CPU time of the calling thread so far, in seconds.
    static func threadCPUSeconds() -> Double {
        var used = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &used)
        return Double(used.tv_sec) + Double(used.tv_nsec) / 1e9
    }

    /// `<workload>_share_of_memcpy` (against the best copy) and `..._sustained`, in %.
    static func shareRows(_ workload: String, moved: Double, sustained: Double, best: Double) -> [BenchRow] {
        [BenchRow(workload: "\(workload)_share_of_memcpy", batchwise: 100 * moved / best, peer: nil, unit: "%"),
         BenchRow(workload: "\(workload)_share_of_memcpy_sustained", batchwise: 100 * moved / sustained, peer: nil, unit: "%")]
    }

    /// The memcpy figures (see `MemcpyReference`) and, given its rate, the MNIST pipeline's shares.
    static func memcpyRows(mnistRate: Double?, memcpy: MemcpyReference) -> [BenchRow] {
        [
            BenchRow(workload: "memcpy_bandwidth", batchwise: memcpy.best, peer: nil, unit: "MB/s"),
            BenchRow(workload: "memcpy_bandwidth_huge_pages", batchwise: memcpy.hugePages, peer: nil, unit: "MB/s"),
            BenchRow(workload: "memcpy_bandwidth_small_pages", batchwise: memcpy.smallPages, peer: nil, unit: "MB/s"),
            BenchRow(workload: "memcpy_bandwidth_sustained", batchwise: memcpy.sustained, peer: nil, unit: "MB/s"),
        ] + (mnistRate.map { shareRows("mnist", moved: $0 * bytesPerElement / 1e6, sustained: memcpy.sustained, best: memcpy.best) } ?? [])
    }

    /// The CPU this process can get now: two threads spin for `seconds`; their CPU time over the
    /// wall time (2 on an idle 2-core machine). The 2-worker map needs both cores.
    static func coresAvailable(seconds: Double) -> Double {
        let total = Mutex<Double>(0)
        let group = DispatchGroup()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<2 {
            group.enter()
            Thread {
                busy(milliseconds: seconds * 1000)
                var used = timespec()
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &used)
                total.withLock { $0 += Double(used.tv_sec) + Double(used.tv_nsec) / 1e9 }
                group.leave()
            }.start()
        }
        group.wait()
        return total.withLock { $0 } / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}
