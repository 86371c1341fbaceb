import ArgumentParser
import Batchwise
import Foundation
import Workflows

/// `batchwise predict --model FILE --input DATA.h5:/x --output OUT.h5:/y [...]`: batch
/// prediction with a Keras (`.keras`, legacy `.h5`) model, written atomically to HDF5.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict with a saved model (.keras, legacy Keras .h5) and write the outputs to an HDF5 dataset."
    )

    @Option(help: "The model file (.keras archive or legacy tf.keras .h5).")
    var model: String

    @Option(help: "The input dataset, FILE.h5:/path, shaped [rows, features].")
    var input: String

    @Option(help: "Where to write the outputs, FILE.h5:/path (the file is created or updated atomically).")
    var output: String

    @Option(help: "inference: BatchNormalization uses its moving statistics; batch-statistics: each batch uses its own (Dropout stays off).")
    var mode: ModelPrediction.Mode = .inference

    @Option(help: "Rows per forward pass (in batch-statistics mode this is the batch whose statistics are used).")
    var batchSize: Int = 32

    @Option(help: "Re-estimate BatchNormalization moving statistics on this dataset (FILE.h5:/path) before predicting.")
    var recalibrateOn: String?

    @Flag(help: "Predict rows holding NaN or infinity instead of refusing the input (their outputs are NaN; in batch-statistics mode, their whole batch's). By default the first such value is an error naming its row and column.")
    var allowNonFinite = false

    @OptionGroup var isolation: IsolationOptions

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
    }

    func run() throws {
        try CommandFailure.reporting(prefix: "batchwise predict") {
            // The child loads the model and writes a clean copy; this process loads only that.
            try IsolatedProbe.withLoadedCopy(.model, arguments: ["--file", model], files: [model], copyName: "model.keras",
                                             options: isolation) { copy in
                let y = try ModelPrediction.run(
                    model: copy ?? URL(fileURLWithPath: model), input: try DatasetLocation(parsing: input),
                    output: try DatasetLocation(parsing: output), mode: mode, batchSize: batchSize,
                    recalibrateOn: try recalibrateOn.map { try DatasetLocation(parsing: $0) }, allowNonFinite: allowNonFinite)
                print("wrote \(y.shape) to \(output)")
            }
        }
    }
}

extension ModelPrediction.Mode: ExpressibleByArgument {}
