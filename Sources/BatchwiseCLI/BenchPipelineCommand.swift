import ArgumentParser
import Batchwise
import Foundation

/// `batchwise bench pipeline`: the Datasets workloads of issue 3 beside tf.data
/// (Benchmarks/peers/pipeline_peer.py) in the same invocation: the seed pipeline, an
/// MNIST-size pipeline, a 1 ms map with 1 and 2 workers while the consumer also works 1 ms
/// per element, and the time to the first batch through a 10,000-element shuffle buffer.
struct BenchPipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline", abstract: "Input-pipeline throughput vs tf.data.")

    @Flag(help: "Print JSON rows instead of a table.") var json = false
    @Option(help: "Timed seconds per workload.") var seconds: Double = 3
    @Flag(help: "Measure Batchwise only.") var noPeer = false

    func run() throws {
        var rng = SplitMix64(seed: 0)
        let x = try Tensor<Double>(shape: [10_000, 1], scalars: (0..<10_000).map { _ in rng.nextNormal() })
        let y = try Tensor<Int64>(shape: [10_000], scalars: x.scalars.map { $0 > 0 ? 1 : 0 })
        let seedPipeline = try Slices(x, y).shuffle(bufferSize: 10_000, seed: 18).repeat().batch(32).prefetch(2)
        let seedRate = try Self.rate(seedPipeline, seconds: seconds)

        let mx = try Tensor<Float>(shape: [60_000, 784], scalars: (0..<(60_000 * 784)).map { _ in rng.nextUniformFloat() })
        let my = try Tensor<Int64>(shape: [60_000], scalars: (0..<60_000).map { _ in Int64(rng.nextIndex(below: 10)) })
        let mnist = try Slices(mx, my).shuffle(bufferSize: 60_000, seed: 1).repeat().batch(128).prefetch(2)
        let mnistRate = try Self.rate(mnist, seconds: seconds) * 128
        let memcpy = Self.memcpyBandwidth(bytes: 256 << 20)

        // Serial baseline: the map and the consumer's work on one thread, no overlap.
        let serial = RangeDataset(0..<(1 << 30)).map { value -> Int in
            Self.busy(milliseconds: 1)
            return value
        }
        let serialRate = try Self.rate(serial, seconds: seconds) { Self.busy(milliseconds: 1) }
        var mapRates: [Double] = []
        for workers in [1, 2] {
            let mapped = RangeDataset(0..<(1 << 30)).map(parallelism: workers) { value -> Int in
                Self.busy(milliseconds: 1)
                return value
            }.prefetch(2)
            mapRates.append(try Self.rate(mapped, seconds: seconds) { Self.busy(milliseconds: 1) })
        }

        let start = DispatchTime.now().uptimeNanoseconds
        var first = try Slices(x, y).shuffle(bufferSize: 10_000, seed: 3).batch(32).makeIterator()
        _ = try first.next()
        let firstBatch = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        let peer = noPeer ? nil : PeerScript.run("Benchmarks/peers/pipeline_peer.py", arguments: ["--seconds", "\(seconds)"])
        let bytesPerElement = Double(784 * 4 + 8)
        let rows = [
            BenchRow(workload: "seed_pipeline", batchwise: seedRate, peer: PeerScript.value(peer, "seed_pipeline"), unit: "batches/s"),
            BenchRow(workload: "mnist_pipeline", batchwise: mnistRate, peer: PeerScript.value(peer, "mnist_pipeline"), unit: "elements/s"),
            BenchRow(workload: "mnist_pipeline_bandwidth", batchwise: mnistRate * bytesPerElement / 1e6,
                     peer: PeerScript.value(peer, "mnist_pipeline").map { $0 * bytesPerElement / 1e6 }, unit: "MB/s"),
            BenchRow(workload: "memcpy_bandwidth", batchwise: memcpy, peer: nil, unit: "MB/s"),
            BenchRow(workload: "map_1ms_1_worker", batchwise: mapRates[0], peer: PeerScript.value(peer, "map_1ms_1_worker"), unit: "elements/s"),
            BenchRow(workload: "map_1ms_2_workers", batchwise: mapRates[1], peer: PeerScript.value(peer, "map_1ms_2_workers"), unit: "elements/s"),
            BenchRow(workload: "map_1ms_serial", batchwise: serialRate, peer: nil, unit: "elements/s"),
            BenchRow(workload: "map_speedup_2_workers_vs_serial", batchwise: mapRates[1] / serialRate, peer: nil, unit: "x"),
            BenchRow(workload: "first_batch", batchwise: firstBatch, peer: PeerScript.value(peer, "first_batch"), unit: "s",
                     lowerIsBetter: true),
        ]
        print(json ? try BenchReport.json(rows) : BenchReport.table(rows))
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

    static func busy(milliseconds: Double) {
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(milliseconds * 1e6)
        while DispatchTime.now().uptimeNanoseconds < end {}
    }

    static func memcpyBandwidth(bytes: Int) -> Double {
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let target = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { source.deallocate(); target.deallocate() }
        memset(source, 1, bytes)
        memcpy(target, source, bytes)  // fault the pages in outside the timing
        var best = Double.infinity
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            memcpy(target, source, bytes)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(bytes) / best / 1e6
    }
}
