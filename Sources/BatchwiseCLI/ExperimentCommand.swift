import ArgumentParser
import Batchwise
import Experiments
import Foundation

/// `batchwise experiment`: the seed experiment (what `make run` runs).
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Train on x ~ N(0,1), test on shifted data, compare BatchNormalization modes.")

    @Option(help: "Seed of the data, the initial weights and the shuffle.") var seed: UInt64 = 18
    @Option(help: "Epochs to train.") var epochs: Int = 10
    @Option(help: "Optimizer steps per epoch.") var stepsPerEpoch: Int = 313
    @Option(help: "Batch size for training and for batch-statistics testing.") var batchSize: Int = 32
    @Option(help: "Mean of the shifted test inputs.") var shift: Double = 2
    @Flag(help: "Print one JSON object instead of the table.") var json = false
    @Option(help: "Write an SVG chart of the sweep and the training curves to this file.") var plot: String?

    func validate() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be positive") }
        guard stepsPerEpoch > 0 else { throw ValidationError("--steps-per-epoch must be positive") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard shift.isFinite else { throw ValidationError("--shift must be a finite number") }
        // Refused before the experiment runs, which takes minutes: the chart is written last.
        if let plot {
            let folder = URL(fileURLWithPath: plot).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--plot \(plot): the folder \(folder) does not exist")
            }
            guard !(FileManager.default.fileExists(atPath: plot, isDirectory: &isDirectory) && isDirectory.boolValue) else {
                throw ValidationError("--plot \(plot) is a folder; give a file name for the chart")
            }
        }
    }

    func run() throws {
        var config = SeedExperiment.Configuration(seed: seed)
        config.epochs = epochs
        config.stepsPerEpoch = stepsPerEpoch
        config.batchSize = batchSize
        config.shift = shift
        if !config.sweepShifts.contains(shift) { config.sweepShifts = (config.sweepShifts + [shift]).sorted() }
        let result = try SeedExperiment(configuration: config).run(progress: json ? .quiet : .automatic)
        print(json ? try result.json() : "\n" + result.table())
        if let plot {
            do {
                try Data(result.svg().utf8).write(to: URL(fileURLWithPath: plot), options: .atomic)
            } catch {
                throw ValidationError("cannot write the chart to \(plot): \(error.localizedDescription)")
            }
            if !json { print("chart written to \(plot)") }
        }
    }
}
