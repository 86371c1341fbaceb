import Batchwise
import Foundation

/// `batchwise-bench layers --thread-options`: the BN MLP's training step and its products
/// alone under each way of using the cores (issue 19 item 1), in one process, interleaved in
/// rotated rounds (a b c d, then b c d a, ...) so neither load drift nor position favours one:
/// - `one_blas_thread`: every product on the caller's thread (`BLASThreads.maximum = 1`);
/// - `split_products`: large products split over threads of our own, one OpenBLAS thread each
///   (``BLASThreads/splitsLargeProducts``, the default now), on Batchwise's product workers;
/// - `split_dispatch`: the same split with every hand-off (split parts, optimizer chunks,
///   side-by-side backward products) on `DispatchQueue.concurrentPerform`, as before the
///   product workers;
/// - `split_unfused_bn_relu`: `split_products` with each BatchNormalization and the ReLU after
///   it as separate passes, as before stop 18 (`Sequential.fusesNormalizationReLU` off).
enum MLPThreadOptionsBench {
    struct Option {
        let name: String
        let maximum: Int
        let splits: Bool
        var usesDispatch = false
        var fusesNormalizationReLU = true
    }

    /// The options with `threads` as the multi-threaded maximum.
    static func options(threads: Int) -> [Option] {
        // (OpenBLAS's own threads, the default before issue 19, are gone: since stop 19 OpenBLAS
        // stays at one thread for the process, because its threads change products' bits.)
        [Option(name: "one_blas_thread", maximum: 1, splits: false),
         Option(name: "split_products", maximum: threads, splits: true),
         Option(name: "split_dispatch", maximum: threads, splits: true, usesDispatch: true),
         Option(name: "split_unfused_bn_relu", maximum: threads, splits: true, fusesNormalizationReLU: false)]
    }

    /// Rows per option: samples/s, CPU per step, the products' sgemm rate under the same
    /// option and the step's share of it, each averaged over `rounds` interleaved rounds.
    static func rows(seconds: Double, rounds: Int) throws -> [BenchRow] {
        let (startMaximum, startSplits) = (BLASThreads.maximum, BLASThreads.splitsLargeProducts)
        let startDispatch = ProductWorkers.usesDispatch
        let startFusion = Sequential.fusesNormalizationReLU
        defer {
            Sequential.fusesNormalizationReLU = startFusion
            BLASThreads.maximum = startMaximum
            BLASThreads.splitsLargeProducts = startSplits
            ProductWorkers.usesDispatch = startDispatch
        }
        let options = options(threads: max(2, startMaximum))
        let workload = try LayersWorkload.mlp()
        var sums = [[Double]](repeating: [0, 0, 0, 0], count: options.count)
        for round in 0..<max(1, rounds) {
            // Each round starts one option later (a b c d, b c d a, ...): over a multiple of the
            // option count every option holds every position once, and no option runs twice in a
            // row across a round boundary. (Alternating forward and reversed rounds ran the last
            // option twice in a row, which favoured it.)
            let order = options.indices.map { ($0 + round) % options.count }
            for index in order {
                BLASThreads.maximum = options[index].maximum
                BLASThreads.splitsLargeProducts = options[index].splits
                ProductWorkers.usesDispatch = options[index].usesDispatch
                Sequential.fusesNormalizationReLU = options[index].fusesNormalizationReLU
                let step = try workload.measureSteps(seconds: seconds)
                let gemm = BenchLayersCommand.measureGEMM(seconds: seconds)
                sums[index][0] += step.rate * 128
                sums[index][1] += step.cpuMicrosecondsPerStep
                sums[index][2] += gemm.rate
                sums[index][3] += gemm.perCPUSecond
            }
        }
        return zip(options, sums).flatMap { option, sum -> [BenchRow] in
            let mean = sum.map { $0 / Double(max(1, rounds)) }
            let stepRate = mean[0] * MLPGEMMWorkload.flopPerSample / 1e9
            let stepRatePerCPUSecond = MLPGEMMWorkload.flopPerStep / mean[1] / 1e3
            return [
                BenchRow(workload: "mlp_\(option.name)", batchwise: mean[0], peer: nil, unit: "samples/s"),
                BenchRow(workload: "mlp_\(option.name)_cpu_per_step", batchwise: mean[1], peer: nil, unit: "µs"),
                BenchRow(workload: "sgemm_mlp_shapes_\(option.name)", batchwise: mean[2], peer: nil, unit: "GFLOP/s"),
                BenchRow(workload: "mlp_\(option.name)_share_of_sgemm", batchwise: 100 * stepRate / mean[2], peer: nil, unit: "%"),
                BenchRow(workload: "mlp_\(option.name)_share_of_sgemm_cpu", batchwise: 100 * stepRatePerCPUSecond / mean[3],
                         peer: nil, unit: "%"),
            ]
        }
    }
}
