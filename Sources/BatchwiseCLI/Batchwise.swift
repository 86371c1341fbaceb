import ArgumentParser
import Batchwise

@main
struct BatchwiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batchwise",
        abstract: "Seeded datasets, HDF5 checkpoints and a BatchNormalization-aware trainer.",
        subcommands: [
            ExperimentCommand.self, TrainCommand.self, PredictCommand.self, InspectCommand.self, ProbeFileCommand.self,
        ]
    )
}
