import ArgumentParser
import Distributed
import Foundation

/// `batchwise-bench distributed [--ranks 2] [--json]`: the time of one reduction of the
/// BN-MLP 784-256-256-10's gradient (270,346 floats) across ranks on this machine, in `fast`
/// mode (`MPI_Allreduce`) and `ordered` mode (all-gather of 8 micro-shard sums, added in
/// order). Started on its own it runs itself under `mpirun` with the settings the tests use
/// (docs/distributed.md) and prints rank 0's report. There is no Python peer.
struct BenchDistributedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributed",
        abstract: "All-reduce time of the BN-MLP's gradient volume across ranks (runs itself under mpirun)."
    )

    @Option(help: "Ranks to start under mpirun.")
    var ranks = 2

    @Option(help: "Timed reductions per mode (after 20 untimed ones).")
    var iterations = 300

    @Flag(help: "Print the report as JSON.")
    var json = false

    /// The BN-MLP's trainable values: Dense 784→256, BN 256, Dense 256→256, BN 256, Dense 256→10.
    static let gradientValues = 784 * 256 + 256 + 2 * 256 + 256 * 256 + 256 + 2 * 256 + 256 * 10 + 10
    static let microShards = 8

    func run() throws {
        if try LaunchEnvironment(ProcessInfo.processInfo.environment).launchedByMPI {
            try measure()
        } else {
            try launch()
        }
    }

    /// Starts this executable under mpirun and waits for it; rank 0 prints the report.
    private func launch() throws {
        guard let mpirun = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map({ "\($0)/mpirun" })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ValidationError("mpirun is not installed (make deps installs openmpi-bin)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        let this = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        process.arguments = ["--allow-run-as-root", "-np", String(ranks)] + (ranks > 2 ? ["--oversubscribe"] : [])
            + [this, "distributed", "--iterations", String(iterations)] + (json ? ["--json"] : [])
        process.environment = ProcessInfo.processInfo.environment.merging([
            "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
            "OMPI_MCA_mpi_yield_when_idle": "1",
            "OPENBLAS_NUM_THREADS": "1",
        ]) { $1 }
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ExitCode(process.terminationStatus) }
    }

    /// One rank's part: times both modes; rank 0 prints.
    private func measure() throws {
        let world = try Communicator.world()
        defer { try? world.finalize() }
        let count = Self.gradientValues
        let plan = try MicroShardPlan(globalBatchSize: 256, microShardCount: Self.microShards, rankCount: world.size)
        let reducer = try GlobalBatchReducer(communicator: world, plan: plan, mode: .ordered)
        let partials = plan.microShards(ofRank: world.rank).map { shard in
            (0..<count).map { Float(($0 + shard) % 97) * 0.01 }
        }
        var gradient = [Float](repeating: 0.5, count: count)
        let fast = try timed(world) { try world.allReduceSum(&gradient) }
        let ordered = try timed(world) { _ = try reducer.sum(microShardSums: partials, width: count) }
        guard world.rank == 0 else { return }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.flatMap { Double($0) }
        let megabytes = Double(count * 4) / 1e6
        let rows = [
            BenchRow(workload: "fast all-reduce, \(world.size) ranks, \(count) floats (median)", batchwise: fast.median,
                     peer: nil, unit: "ms"),
            BenchRow(workload: "fast all-reduce (p90)", batchwise: fast.p90, peer: nil, unit: "ms"),
            BenchRow(workload: "fast all-reduce bus bandwidth", batchwise: 2 * Double(world.size - 1) / Double(world.size)
                     * megabytes / fast.median, peer: nil, unit: "GB/s"),
            BenchRow(workload: "ordered, \(Self.microShards) micro-shards (median)", batchwise: ordered.median, peer: nil, unit: "ms"),
            BenchRow(workload: "ordered (p90)", batchwise: ordered.p90, peer: nil, unit: "ms"),
            BenchRow(workload: "load average (1 min) at the end", batchwise: load, peer: nil, unit: "load"),
        ]
        print(json ? try BenchReport.json(rows) : BenchReport.table(rows))
    }

    /// Median and 90th percentile, in milliseconds, of `iterations` calls of `body`, each
    /// started together on every rank (a barrier before each).
    private func timed(_ world: Communicator, _ body: () throws -> Void) throws -> (median: Double, p90: Double) {
        for _ in 0..<20 { try body() }
        var times: [Double] = []
        for _ in 0..<iterations {
            try world.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        return (times[times.count / 2], times[min(times.count - 1, times.count * 9 / 10)])
    }
}
