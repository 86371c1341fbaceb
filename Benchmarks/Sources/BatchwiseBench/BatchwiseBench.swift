import ArgumentParser
import Batchwise
import CProcessControl
import Foundation

/// `batchwise-bench <area>`: release-build benchmarks against Python peers. A separate
/// executable from `batchwise`, so that the shipped CLI holds only what a user runs.
@main
struct BatchwiseBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batchwise-bench",
        abstract: "Benchmarks, each compared with its Python peer in the same run.",
        // One line per area, in `--help` order (CLICommandListTests pins the list).
        subcommands: [
            BenchHDF5Command.self,
            BenchHDF5StreamCommand.self,
            BenchDataCommand.self,
            BenchPipelineCommand.self,
            BenchLayersCommand.self,
            BenchConvCommand.self,
            BenchTrainCommand.self,
            BenchCheckpointCommand.self,
            BenchSoakCommand.self,
            BenchDistributedCommand.self,
            BenchFoldingCommand.self,
        ]
    )

    /// Honours `BATCHWISE_DIE_WITH_PARENT` as `batchwise` does (the tests set it for every
    /// executable they start), so a killed parent leaves no benchmark running.
    static func main() {
        bw_honour_die_with_parent_request_or_exit("batchwise-bench")
        // For A/B runs of BLASThreads' one-thread limit (0 splits every product that can be cut).
        if let limit = ProcessInfo.processInfo.environment["BATCHWISE_BENCH_BLAS_SINGLE_THREAD_LIMIT"].flatMap({ Int($0) }) {
            BLASThreads.singleThreadedMultiplyAdds = limit
        }
        // For A/B runs of the split of large products over threads of our own (0 runs them whole on one thread).
        if ProcessInfo.processInfo.environment["BATCHWISE_BENCH_BLAS_SPLIT"] == "0" {
            BLASThreads.splitsLargeProducts = false
        }
        // For A/B runs of the product workers: 1 hands their parts to DispatchQueue.concurrentPerform
        // as before; a number of microseconds sets how long an idle worker spins before it parks.
        if ProcessInfo.processInfo.environment["BATCHWISE_BENCH_PARTS_ON_DISPATCH"] == "1" {
            ProductWorkers.usesDispatch = true
        }
        // For A/B runs of a BatchNormalization and its ReLU as one pass (0: separate passes, as before stop 18).
        if ProcessInfo.processInfo.environment["BATCHWISE_BENCH_BN_RELU_FUSION"] == "0" {
            Sequential.fusesNormalizationReLU = false
        }
        if let spin = ProcessInfo.processInfo.environment["BATCHWISE_BENCH_WORKER_SPIN_US"].flatMap({ Int($0) }) {
            ProductWorkers.spinNanoseconds = spin * 1000
        }
        main(nil)
    }
}
