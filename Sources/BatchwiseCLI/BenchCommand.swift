import ArgumentParser

/// `batchwise bench <area>`: release-build benchmarks against Python peers.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks, each compared with its Python peer in the same run.",
        subcommands: [BenchHDF5Command.self, BenchHDF5StreamCommand.self, BenchPipelineCommand.self, BenchLayersCommand.self, BenchTrainCommand.self, BenchCheckpointCommand.self, BenchSoakCommand.self]
    )
}
