import ArgumentParser
import Batchwise
import CProcessControl

@main
struct BatchwiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batchwise",
        abstract: "Seeded datasets, HDF5 checkpoints and a BatchNormalization-aware trainer.",
        subcommands: [
            ExperimentCommand.self, TrainCommand.self, PredictCommand.self, InspectCommand.self, ProbeFileCommand.self,
        ]
    )

    /// Honours `BATCHWISE_DIE_WITH_PARENT` before anything else runs: a parent that sets it
    /// (``IsolatedProbe`` for its `probe-file` child, the tests for every CLI they start) is
    /// sure that this process ends when it does (docs/RELIABILITY.md).
    static func main() {
        bw_honour_die_with_parent_request_or_exit("batchwise")
        main(nil)
    }
}
