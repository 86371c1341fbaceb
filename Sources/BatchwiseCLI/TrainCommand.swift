import ArgumentParser
import Batchwise
import Foundation
import Workflows

/// `batchwise train`: fine-tunes a model file or resumes a native checkpoint on HDF5 data and
/// saves in the format the `--save` extension names. All logic is in `TrainJob`; the options,
/// one group per concern, are in TrainOptions.swift.
///
/// ```
/// batchwise train --model m.keras --data d.h5 --loss binary_crossentropy --optimizer adam \
///     --epochs 5 --save out.h5 --checkpoint run.h5 --every 100
/// batchwise train --resume run.h5 --data d.h5 --loss binary_crossentropy --epochs 5 --save out.h5
/// ```
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a model or resume a native checkpoint on HDF5 data.",
        discussion: """
        The data is streamed from the files batch by batch, never loaded whole. Its shapes are checked before \
        training (an empty dataset, features that are not [rows, model inputs], targets not shaped for the loss); \
        its values while the first epoch reads them: a sparse label outside 0..<classes or any NaN/infinity in \
        features or targets is an error naming the file, dataset, row and column. A loss that becomes NaN or infinite \
        stops training with an error (nothing is saved; the last --checkpoint stays intact).
        """
    )

    @OptionGroup var start: StartOptions
    @OptionGroup var data: TrainDataOptions
    @OptionGroup var objective: ObjectiveOptions
    @OptionGroup var schedule: ScheduleOptions
    @OptionGroup var output: TrainOutputOptions
    @Flag(help: "No progress output.")
    var quiet = false
    @OptionGroup var isolation: IsolationOptions

    func validate() throws {
        guard !start.files.isEmpty else { throw ValidationError("give --model FILE to fine-tune or --resume CHECKPOINT to continue") }
        guard !data.data.isEmpty else { throw ValidationError("give --data FILE (or several files with the same layout)") }
    }

    func run() throws {
        var job = TrainJob(data: URL(fileURLWithPath: data.data.first ?? ""), output: URL(fileURLWithPath: output.save))
        for group in [start, data, objective, schedule, output] as [any TrainJobOptions] { group.apply(to: &job) }
        try CommandFailure.reporting(prefix: "batchwise train") {
            // The child reads the user's model/checkpoint and writes what training starts from
            // (model, optimizer state, position) as a Batchwise-written checkpoint; this process
            // reads only that copy.
            try IsolatedProbe.withLoadedCopy(.train, arguments: start.arguments, files: start.files, copyName: "start.h5",
                                             options: isolation) { copy in
                var job = job
                job.preparedStart = copy
                try job.run(progress: quiet ? .quiet : .automatic)
            }
        }
    }
}
