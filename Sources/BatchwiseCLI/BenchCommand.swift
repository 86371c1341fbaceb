import ArgumentParser

/// `batchwise bench <area>`: release-build throughput benchmarks, each compared with its
/// Python peer in the same invocation.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks against the Python (tf.data / Keras / h5py) peers.",
        subcommands: [BenchLayersCommand.self]
    )
}
