import ArgumentParser
import Distributed
import Foundation

extension ReductionMode: ExpressibleByArgument {}

/// `--batch-norm-statistics synchronized|ghost-batch|per-layer`.
extension BatchNormStatisticsScope: ExpressibleByArgument {
    /// The option's spelling of a scope.
    var argumentName: String {
        switch self {
        case .synchronized: "synchronized"
        case .ghostBatch: "ghost-batch"
        case .perLayer: "per-layer"
        }
    }

    /// The scope an option value names, or nil (ArgumentParser then lists the valid values).
    public init?(argument: String) {
        guard let scope = Self.allCases.first(where: { $0.argumentName == argument }) else { return nil }
        self = scope
    }

    /// The values `--help` and errors list.
    public static var allValueStrings: [String] { allCases.map(\.argumentName) }
}

/// `train`'s data-parallel options: `--ranks N` (start `mpirun` here), `--reduction` and
/// `--micro-shards` (how the ranks combine their gradients), `--batch-norm-statistics`. Under `mpirun` every rank runs
/// ``DataParallelTrain``; with `--ranks`, ``RankLauncher`` starts that job.
///
/// ```swift
/// @OptionGroup var parallel: DataParallelOptions   // --ranks 2 --reduction fast
/// ```
struct DataParallelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Train data-parallel on N processes of this machine: runs this command (without --ranks) under `mpirun -np N` and prints the mpirun command.",
        discussion: "Under mpirun (mpirun -np N batchwise train ...) leave it out: every process is then a rank. Open MPI's shared-memory single-copy mechanism is cma (one copy per message) where this machine allows cross-memory attach between processes, else none (containers that forbid it); OMPI_MCA_btl_vader_single_copy_mechanism in the environment overrides the choice."))
    var ranks: Int?

    @Option(help: ArgumentHelp(
        "How data-parallel ranks (mpirun or --ranks) combine gradients: ordered (default; the trained model is bitwise the same for any number of ranks dividing --micro-shards) or fast (one MPI_Allreduce per step; equal within rounding).",
        valueName: "ordered|fast"))
    var reduction: ReductionMode?

    @Option(help: "Micro-shards each global batch is cut into in data-parallel training (default 8); use a multiple of every rank count you compare.")
    var microShards: Int?

    @Option(help: ArgumentHelp(
        "Which statistics BatchNormalization layers use in data-parallel training: synchronized (default; the whole global batch's, every layer), ghost-batch (each micro-shard's, every layer) or per-layer (each layer's Keras `synchronized` flag: true synchronized, false per micro-shard).",
        valueName: "synchronized|ghost-batch|per-layer"))
    var batchNormStatistics: BatchNormStatisticsScope?

    /// True when an MPI launcher started this process (an inconsistent launch counts: the
    /// data-parallel path then reports it).
    static var launchedByMPI: Bool {
        (try? LaunchEnvironment(ProcessInfo.processInfo.environment))?.launchedByMPI ?? true
    }

    func validate() throws {
        if let ranks, ranks < 1 { throw ValidationError("--ranks must be at least 1, got \(ranks)") }
        if let microShards, microShards < 1 { throw ValidationError("--micro-shards must be at least 1, got \(microShards)") }
        if ranks != nil, Self.launchedByMPI {
            throw ValidationError("--ranks starts mpirun itself; under mpirun leave it out (every process is already a rank)")
        }
        if ranks == nil, !Self.launchedByMPI, reduction != nil || microShards != nil || batchNormStatistics != nil {
            throw ValidationError(
                "--reduction, --micro-shards and --batch-norm-statistics apply to data-parallel training: run under mpirun or give --ranks N")
        }
    }
}
