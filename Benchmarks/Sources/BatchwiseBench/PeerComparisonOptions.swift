import ArgumentParser

/// The options of the bench commands that time Batchwise next to a Keras peer script on the
/// same workloads (`conv`, `layers`): the output form, the timed seconds and whether the peer
/// runs. Each command keeps its own `--peer-script` (the default names its own script) and
/// `--only` (the workloads differ).
struct PeerComparisonOptions: ParsableArguments {
    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Timed seconds per workload (Swift and peer alike).")
    var seconds: Double = 3

    @Flag(help: "Measure Batchwise only.")
    var noPeer = false
}
