import ArgumentParser
import Batchwise
import CProcessControl
import Distributed
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `batchwise-bench distributed [--ranks 2] [--json]`: data-parallel training of the BN-MLP
/// 784-256-256-10 (Dense-BN-ReLU twice, then Dense; Adam) at a global batch of 256 with
/// `DataParallelTrainer`, in `fast` and `ordered` mode, on 1 rank and on `--ranks` ranks (one
/// OpenBLAS thread each): samples/s, the scaling of `--ranks` ranks over 1, and the share of
/// the step time each rank spends in MPI collectives (`Communicator.secondsInCollectives`: the
/// wall time inside MPI calls, transfers and waiting for the slower rank, over the wall time
/// of the timed steps, averaged over the ranks), beside the time of the reduction alone after a barrier
/// (the transfer without waiting). Because the ranks of a busy machine wait for each other's
/// time slices, it also reports each rank's own work (its thread's CPU time outside the
/// collectives) and, labelled as estimates, the samples/s and communication share a machine
/// with a core per rank would give (the slowest rank's work plus the fastest reduction alone). Started on its own it runs itself under `mpirun` with the
/// settings the tests use (docs/distributed.md) except the single-copy mechanism, which `--single-copy`
/// picks (default `auto`: the environment's, else `cma` where cross-memory attach works here, else
/// `none`, as `batchwise train --ranks` does), once per rank count, and prints one report whose last
/// row names the mechanism used. The 1-rank and the N-rank runs alternate `--slices` times (3 by
/// default: 1, N, 1, N, 1, N), combined as if back to back, with each slice's scaling and share
/// range beside them (``DistributedSlices``), so that a burst of outside load falls on both sides.
/// The peer of a 1-rank row is one process training the same model with whole 256-row steps
/// (`Sequential.trainingStep`, no micro-shards, no MPI).
struct BenchDistributedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributed",
        abstract: "Data-parallel BN-MLP training on 1 and N ranks: samples/s, scaling, communication share (runs itself under mpirun)."
    )

    @Option(help: "Ranks of the scaled run (the baseline has 1).")
    var ranks = 2

    @Option(help: "Timed training steps per mode (after 5 untimed ones).")
    var steps = 60

    @Option(help: "Timed reductions per mode (after 20 untimed ones).")
    var iterations = 100

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Open MPI's shared-memory single-copy mechanism (btl_vader_single_copy_mechanism): auto (default: OMPI_MCA_btl_vader_single_copy_mechanism if the environment sets it, else cma where cross-memory attach between processes works here, else none, as batchwise train --ranks chooses), none (two copies per message through shared buffers, for containers that forbid cross-memory attach) or cma (Linux cross-memory attach: one copy per message).")
    var singleCopy: SingleCopyChoice = .auto

    @Flag(help: "Let waiting ranks poll without yielding the core (mpi_yield_when_idle=0); by default they yield, as the tests' settings do.")
    var busyPoll = false

    @Flag(inversion: .prefixedNo, help: "In fast mode, start each large gradient's all-reduce during the backward pass (default) or, with --no-overlap, all of them after it (the same results; an A/B of the overlap in one binary).")
    var overlap = true

    @Option(help: "How the gradients travel between the ranks: automatic (default: in fast mode an MPI-3 shared-memory window when every rank is on this node, in ordered mode the collectives), shared-memory (the window in both modes) or collectives (Open MPI's all-reduce and ordered mode's fold along the ranks); an A/B in one binary.")
    var transport: ReductionTransport = .automatic

    @Option(help: "Alternate the 1-rank and the N-rank run this many times (1, N, 1, N, ...) and combine them (samples/s from the total time, the share from the total time in MPI calls); the report adds each slice's scaling and share range.")
    var slices = 3

    @Option(help: .hidden)
    var resultFile: String?

    /// One process without MPI timing a rank's work at this many rows (``DistributedWork``).
    @Option(help: "Instead of the report: one process, no MPI, prints the CPU and wall milliseconds per step of a rank's work at this many rows (plain forward and backward, Adam, the plain step, a world-of-one data-parallel step in both modes) as JSON; pin it with taskset, and run two at once for the two-core ceiling (docs/distributed.md).")
    var workRows: Int?

    /// With `--work-rows`: time only the parts whose name starts with this (`plain`, `fast`,
    /// `ordered`, ...), so that `callgrind` counts one part's instructions alone (stop 26).
    @Option(help: .hidden)
    var workPart: String?

    /// The BN-MLP's trainable values: Dense 784→256, BN 256, Dense 256→256, BN 256, Dense 256→10.
    static let gradientValues = 784 * 256 + 256 + 2 * 256 + 256 * 256 + 256 + 2 * 256 + 256 * 10 + 10
    static let microShards = 8
    static let globalBatch = 256

    func run() throws {
        if let workRows {
            guard workRows >= 1 else { throw ValidationError("--work-rows must be at least 1, got \(workRows)") }
            let figures = try DistributedWork.measure(rows: workRows, steps: steps, part: workPart)
            print(String(decoding: try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        if try LaunchEnvironment(ProcessInfo.processInfo.environment).launchedByMPI {
            bw_die_with_parent(getppid())
            try measure()
        } else {
            try launch()
        }
    }

    /// Runs the measurement under mpirun with 1 rank and with `ranks`, then prints the report.
    private func launch() throws {
        guard slices >= 1 else { throw ValidationError("--slices must be at least 1, got \(slices)") }
        let mechanism = singleCopy.setting(environment: ProcessInfo.processInfo.environment)
        var (ones, manys): ([[String: Double]], [[String: Double]]) = ([], [])
        for _ in 0..<slices {
            ones.append(try runUnderMPI(ranks: 1, singleCopy: mechanism))
            manys.append(try runUnderMPI(ranks: ranks, singleCopy: mechanism))
        }
        let sliced = DistributedSlices(one: ones, many: manys)
        let (one, many) = (DistributedSlices.combine(ones), DistributedSlices.combine(manys))
        var rows: [BenchRow] = []
        for mode in ReductionMode.allCases.map(\.rawValue) {
            let name = "bn_mlp_fit_\(mode)_batch_\(Self.globalBatch)"
            rows.append(BenchRow(workload: "\(name)_1_rank", batchwise: one["\(mode).samples"], peer: one["plain.samples"],
                                 unit: "samples/s"))
            rows.append(BenchRow(workload: "\(name)_\(ranks)_ranks (peer: 1 rank)", batchwise: many["\(mode).samples"],
                                 peer: one["\(mode).samples"], unit: "samples/s"))
            rows.append(BenchRow(workload: "\(name)_\(ranks)_ranks_communication_share", batchwise: many["\(mode).share"],
                                 peer: nil, unit: "%"))
            rows.append(BenchRow(workload: "\(name)_\(ranks)_ranks_step", batchwise: many["\(mode).step"], peer: nil, unit: "ms"))
            rows.append(BenchRow(workload: "\(name)_\(ranks)_ranks_in_collectives", batchwise: many["\(mode).collectives"],
                                 peer: nil, unit: "ms"))
            rows.append(BenchRow(workload: "\(mode)_reduction_alone_\(ranks)_ranks (median after a barrier)",
                                 batchwise: many["\(mode).reduction"], peer: nil, unit: "ms"))
            rows.append(BenchRow(workload: "\(mode)_reduction_alone_\(ranks)_ranks (fastest)",
                                 batchwise: many["\(mode).fastestReduction"], peer: nil, unit: "ms"))
            rows.append(BenchRow(workload: "\(name)_\(ranks)_ranks_work_per_rank (CPU outside collectives, peer: 1 rank)",
                                 batchwise: many["\(mode).work"], peer: one["\(mode).work"], unit: "ms", lowerIsBetter: true))
            if slices > 1, let scaling = sliced.scalingRange(mode: mode), let share = sliced.shareRange(mode: mode) {
                rows.append(BenchRow(workload: "\(name)_\(ranks)_ranks scaling per slice (lowest)", batchwise: scaling.lowest, peer: nil, unit: "x"))
                rows.append(BenchRow(workload: "\(name)_\(ranks)_ranks scaling per slice (highest)", batchwise: scaling.highest, peer: nil, unit: "x"))
                rows.append(BenchRow(workload: "\(name)_\(ranks)_ranks_communication_share per slice (lowest)", batchwise: share.lowest,
                                     peer: nil, unit: "%"))
                rows.append(BenchRow(workload: "\(name)_\(ranks)_ranks_communication_share per slice (highest)", batchwise: share.highest,
                                     peer: nil, unit: "%"))
                rows.append(BenchRow(workload: "\(name)_\(ranks)_ranks slices meeting >= 1.7x and <= 15 % (of \(slices))",
                                     batchwise: Double(sliced.slicesMeeting(mode: mode, minimumScaling: 1.7, maximumShare: 15)),
                                     peer: nil, unit: "slices"))
            }
            if let idle = many["\(mode).idleStep"], let single = one["\(mode).idleStep"], idle > 0 {
                // Estimates from CPU time and the fastest transfer, for a machine where each rank has a core.
                rows.append(BenchRow(workload: "\(name)_\(ranks)_ranks_if_idle (estimate: work + fastest transfer, peer: 1 rank)",
                                     batchwise: Double(Self.globalBatch) / idle * 1e3, peer: Double(Self.globalBatch) / single * 1e3,
                                     unit: "samples/s"))
                rows.append(BenchRow(workload: "\(name)_\(ranks)_ranks_communication_share_if_idle (estimate)",
                                     batchwise: 100 * (many["\(mode).transfer"] ?? 0) / idle, peer: nil, unit: "%"))
            }
        }
        if many["ordered.sharedReduction"] != nil {
            rows.append(BenchRow(workload: "ordered_shared_memory_fold_alone_\(ranks)_ranks (median after a barrier)",
                                 batchwise: many["ordered.sharedReduction"], peer: nil, unit: "ms"))
            rows.append(BenchRow(workload: "ordered_shared_memory_fold_alone_\(ranks)_ranks (fastest)",
                                 batchwise: many["ordered.sharedFastestReduction"], peer: nil, unit: "ms"))
        }
        if many["shared.reduction"] != nil {
            rows.append(BenchRow(workload: "shared_memory_reduction_alone_\(ranks)_ranks (median after a barrier)",
                                 batchwise: many["shared.reduction"], peer: nil, unit: "ms"))
            rows.append(BenchRow(workload: "shared_memory_reduction_alone_\(ranks)_ranks (fastest)",
                                 batchwise: many["shared.fastestReduction"], peer: nil, unit: "ms"))
        }
        rows.append(BenchRow(workload: "threads one product may use per rank (BLASThreads.maximum; peer: 1 rank)",
                             batchwise: many["threads.blas"], peer: one["threads.blas"], unit: "threads"))
        rows.append(BenchRow(workload: "product worker threads per rank besides its own (ProductWorkers; peer: 1 rank)",
                             batchwise: many["threads.workers"], peer: one["threads.workers"], unit: "threads"))
        rows.append(BenchRow(workload: "alternating slices of 1-rank and \(ranks)-rank runs", batchwise: Double(slices), peer: nil, unit: "slices"))
        rows.append(BenchRow(workload: "load average (1 min) at the end", batchwise: many["load"], peer: nil, unit: "load"))
        // The mechanism the runs used (the setting, no figure), in the table and the JSON alike.
        rows.append(BenchRow(workload: "single-copy mechanism: \(mechanism)", batchwise: nil, peer: nil, unit: "setting"))
        rows.append(BenchRow(workload: "fast mode's gradient all-reduces start \(overlap ? "during" : "after") the backward pass",
                             batchwise: nil, peer: nil, unit: "setting"))
        for mode in ReductionMode.allCases.map(\.rawValue) {
            let used = many["\(mode).window"] == 1 ? "shared-memory window" : "collectives"
            rows.append(BenchRow(workload: "\(mode) mode's transport: \(transport.rawValue) asked, \(used) used",
                                 batchwise: nil, peer: nil, unit: "setting"))
        }
        print(json ? try BenchReport.json(rows) : BenchReport.table(rows))
    }

    /// This executable under `mpirun -np ranks`, tied to this process; rank 0's figures.
    private func runUnderMPI(ranks: Int, singleCopy: String) throws -> [String: Double] {
        guard let mpirun = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map({ "\($0)/mpirun" })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ValidationError("mpirun is not installed (make deps installs openmpi-bin)")
        }
        let result = FileManager.default.temporaryDirectory.appendingPathComponent("bench-distributed-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: result) }
        let this = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let arguments = [mpirun, "--allow-run-as-root", "-np", String(ranks)] + (ranks > 2 ? ["--oversubscribe"] : [])
            + [this, "distributed", "--steps", String(steps), "--iterations", String(iterations), "--result-file", result.path]
            + (overlap ? [] : ["--no-overlap"]) + ["--transport", transport.rawValue]
        let environment = ProcessInfo.processInfo.environment.merging([
            SingleCopyMechanism.environmentVariable: singleCopy,
            "OMPI_MCA_mpi_yield_when_idle": busyPoll ? "0" : "1",
            "OPENBLAS_NUM_THREADS": "1",
        ]) { $1 }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let pid = bw_spawn_tied_in_own_group(mpirun, argv, envp, -1, -1)
        guard pid > 0 else { throw ValidationError("cannot start mpirun: \(String(cString: strerror(errno)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw ExitCode(1) }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: result)) as? [String: Double]
        return object ?? [:]
    }

    /// One rank's part: times data-parallel steps in both modes and the reductions alone;
    /// rank 0 writes the figures (each the mean over ranks) to `--result-file`.
    private func measure() throws {
        let world = try Communicator.world()
        defer { try? world.finalize() }
        var rng = SplitMix64(seed: 1)
        let rows = Self.globalBatch * 8
        let x = try Tensor(shape: [rows, 784], scalars: (0..<(rows * 784)).map { _ in Float(rng.nextNormal()) })
        let y = Tensor((0..<rows).map { _ in Float(rng.nextIndex(below: 10)) })
        let data = try Slices(x, y)
        var figures: [String: Double] = [:]
        if let shared = try SharedMemoryAllReduce.open(on: world, capacity: Self.gradientValues + 2) {
            (figures["shared.reduction"], figures["shared.fastestReduction"]) = try sharedMemoryMilliseconds(world, shared)
        }
        for mode in ReductionMode.allCases {
            var trainer = try DataParallelTrainer(model: try Self.model(), optimizer: Adam(), loss: .sparseCategoricalCrossentropy,
                                                  communicator: world, globalBatchSize: Self.globalBatch,
                                                  microShardCount: Self.microShards, mode: mode,
                                                  overlapsGradientReduction: overlap, transport: transport)
            for step in 0..<5 { _ = try trainer.step(data, epoch: 0, step: step % 8) }
            try world.barrier()
            let (collectivesBefore, collectiveCPUBefore) = (world.secondsInCollectives, world.cpuSecondsInCollectives)
            let (start, cpuStart) = (DispatchTime.now().uptimeNanoseconds, Communicator.threadCPUSeconds())
            for step in 0..<steps { _ = try trainer.step(data, epoch: 0, step: step % 8) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let inCollectives = world.secondsInCollectives - collectivesBefore
            // The rank's own work: its thread's CPU time outside the collectives.
            let computeCPU = (Communicator.threadCPUSeconds() - cpuStart) - (world.cpuSecondsInCollectives - collectiveCPUBefore)
            // Means over ranks of the step and collective times; the slowest rank's work.
            var sums = [seconds, inCollectives]
            try world.allReduceSum(&sums)
            let slowestWork = try world.allGather([computeCPU / Double(steps)]).map { $0[0] }.max() ?? 0
            let (step, collectives) = (sums[0] / Double(world.size * steps), sums[1] / Double(world.size * steps))
            let (reduction, fastestReduction) = try reductionMilliseconds(world, mode: mode, window: false)
            if mode == .ordered, transport.usesWindow(in: .ordered), world.size > 1 {
                (figures["ordered.sharedReduction"], figures["ordered.sharedFastestReduction"])
                    = try reductionMilliseconds(world, mode: mode, window: true)
            }
            figures["\(mode.rawValue).samples"] = Double(Self.globalBatch) / step
            figures["\(mode.rawValue).step"] = step * 1e3
            figures["\(mode.rawValue).collectives"] = collectives * 1e3
            figures["\(mode.rawValue).share"] = 100 * collectives / step
            figures["\(mode.rawValue).reduction"] = reduction
            figures["\(mode.rawValue).fastestReduction"] = fastestReduction
            figures["\(mode.rawValue).work"] = slowestWork * 1e3
            // On cores of its own a step would take the slowest rank's work plus the undisturbed transfer.
            // The transfer fast mode's steps use: the window's when it carries the gradients.
            let window = trainer.usesSharedMemoryWindow
            let transfer = window ? figures[mode == .fast ? "shared.fastestReduction" : "ordered.sharedFastestReduction"] ?? fastestReduction
                : fastestReduction
            figures["\(mode.rawValue).idleStep"] = slowestWork * 1e3 + transfer
            figures["\(mode.rawValue).transfer"] = transfer
            figures["\(mode.rawValue).window"] = window ? 1 : 0
        }
        if world.size == 1 { figures["plain.samples"] = try plainSamplesPerSecond(x: x, y: y) }
        // Whether a rank could spread its products over more than its one core (the most of any rank).
        let threads = try world.allGather([Double(BLASThreads.maximum), Double(ProductWorkers.workerLimit)])
        figures["threads.blas"] = threads.map { $0[0] }.max()
        figures["threads.workers"] = threads.map { $0[1] }.max()
        guard world.rank == 0, let resultFile else { return }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.flatMap { Double($0) }
        figures["load"] = load
        try JSONSerialization.data(withJSONObject: figures).write(to: URL(fileURLWithPath: resultFile))
    }

    static func model() throws -> Sequential {
        try Sequential(inputFeatures: 784, [
            Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 10, activation: .softmax),
        ], seed: 0)
    }

    /// One process training the same model with whole 256-row steps, as `Trainer.fit` does.
    private func plainSamplesPerSecond(x: Tensor<Float>, y: Tensor<Float>) throws -> Double {
        var model = try Self.model()
        var optimizer = Adam()
        let batches = try (0..<8).map { batch in
            let rows = (batch * Self.globalBatch)..<((batch + 1) * Self.globalBatch)
            return (x: try x.rows(rows), y: try y.rows(rows))
        }
        func train(_ step: Int) throws {
            let result = try model.trainingStep(x: batches[step % 8].x, y: batches[step % 8].y, loss: .sparseCategoricalCrossentropy)
            try model.apply(result.stateUpdate)
            try optimizer.apply(result.gradients, to: &model)
        }
        for step in 0..<5 { try train(step) }
        let start = DispatchTime.now().uptimeNanoseconds
        for step in 0..<steps { try train(step) }
        return Double(steps * Self.globalBatch) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// Median and fastest milliseconds of one sum of the model's gradient values (with the loss
    /// and status) through a shared-memory window after a barrier, as ``reductionMilliseconds(_:mode:)``.
    private func sharedMemoryMilliseconds(_ world: Communicator, _ shared: SharedMemoryAllReduce) throws -> (median: Double, fastest: Double) {
        let values = (0..<shared.capacity).map { Float($0 % 97) * 0.01 }
        var times: [Double] = []
        for iteration in 0..<(20 + iterations) {
            var sums = values
            try world.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            try shared.sum(&sums)
            if iteration >= 20 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6) }
        }
        times.sort()
        return (times[times.count / 2], times[0])
    }

    /// Median and fastest milliseconds of one reduction of the model's step vector after a
    /// barrier (with `window`, `ordered` mode's fold through the shared-memory window): the transfer without waiting for a slower rank (the fastest: without being
    /// descheduled on a busy machine either).
    private func reductionMilliseconds(_ world: Communicator, mode: ReductionMode, window: Bool) throws -> (median: Double, fastest: Double) {
        let count = Self.gradientValues
        let plan = try MicroShardPlan(globalBatchSize: Self.globalBatch, microShardCount: Self.microShards, rankCount: world.size)
        var reducer = try GlobalBatchReducer(communicator: world, plan: plan, mode: mode)
        if window { try reducer.useSharedMemoryWindow(width: count) }
        let partials = plan.microShards(ofRank: world.rank).map { shard in (0..<count).map { Float(($0 + shard) % 97) * 0.01 } }
        for _ in 0..<20 { _ = try reducer.sum(microShardSums: partials, width: count) }
        var times: [Double] = []
        for _ in 0..<iterations {
            try world.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try reducer.sum(microShardSums: partials, width: count)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        return (times[times.count / 2], times[0])
    }
}

/// `--single-copy`: Open MPI's shared-memory single-copy mechanism the benchmark runs with.
enum SingleCopyChoice: String, ExpressibleByArgument, CaseIterable {
    /// The launcher's choice (`SingleCopyMechanism.setting`): the environment's, else the probe's.
    case auto
    case none
    case cma

    /// The value of `OMPI_MCA_btl_vader_single_copy_mechanism` for the runs.
    func setting(environment: [String: String]) -> String {
        switch self {
        case .auto: SingleCopyMechanism.setting(environment: environment)
        case .none: SingleCopyMechanism.none.rawValue
        case .cma: SingleCopyMechanism.cma.rawValue
        }
    }
}

/// `--transport automatic|shared-memory|collectives`.
extension ReductionTransport: ExpressibleByArgument {}
