import Foundation
import HDF5
import Testing
import Tensors
import Training
import Workflows
import CheckpointsTestSupport

/// `TrainJob` settings that are missing, out of range or contradict each other, and data files
/// whose datasets cannot be trained on: each is the `WorkflowError` case naming the setting (or
/// the file and dataset), and no output file is written.
@Suite("Train job settings and data layouts are refused naming the setting or dataset")
struct TrainJobSettingErrorTests {
    /// A job on clean 8x3 data with `m.keras`, SGD and binary crossentropy, which trains.
    private func job(_ folder: URL, output: String = "out.h5") throws -> TrainJob {
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0, 1, 0, 1, 1, 0, 1, 0])
        var job = TrainJob(data: data, output: folder.appendingPathComponent(output))
        job.model = folder.appendingPathComponent("m.keras")
        job.loss = .binaryCrossentropy
        job.optimizer = .sgd
        job.batchSize = 4
        return job
    }

    private func expectRefused(_ job: TrainJob, _ expected: WorkflowError, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: expected, sourceLocation: sourceLocation) { try job.run(progress: .quiet) }
        #expect(!FileManager.default.fileExists(atPath: job.output.path), "an output was written", sourceLocation: sourceLocation)
    }

    @Test("the base job trains (so each refusal below is caused by its one setting)")
    func baseJobTrains() throws {
        let folder = try DataFileFixtures.folder()
        #expect(try job(folder).run(progress: .quiet).epochs == [0])
    }

    @Test("nothing to start from, or layers together with a model")
    func startingPoint() throws {
        let folder = try DataFileFixtures.folder()
        var nothing = try job(folder)
        nothing.model = nil
        expectRefused(nothing, .invalidSetting(file: nil, setting: .model,
                                               problem: "nothing to start from: set model to fine-tune or resume to continue a checkpoint"))
        var both = try job(folder)
        both.layers = [.dense(units: 1, activation: .sigmoid)]
        both.inputShape = [3]
        expectRefused(both, .invalidSetting(file: both.model?.path, setting: .layers,
                                            problem: "layers builds a new model; give either layers or a model/checkpoint, not both"))
    }

    @Test("layers without an input shape, or with a size of 0")
    func layersNeedAnInputShape() throws {
        let folder = try DataFileFixtures.folder()
        var built = try job(folder)
        built.model = nil
        built.layers = [.dense(units: 1, activation: .sigmoid)]
        let prefix = "a model built from layers needs the shape of one input example (positive sizes: 64, or 8x8x1 for images), got "
        expectRefused(built, .invalidSetting(file: nil, setting: .inputs, problem: prefix + "none"))
        built.inputShape = [3, 0]
        expectRefused(built, .invalidSetting(file: nil, setting: .inputs, problem: prefix + "[3, 0]"))
        built.inputShape = [3]
        built.loss = nil
        expectRefused(built, .invalidSetting(file: nil, setting: .loss, problem: "a model built here has no loss yet; set loss"))
        built.loss = .binaryCrossentropy
        built.optimizer = nil
        expectRefused(built, .invalidSetting(
            file: nil, setting: .optimizer,
            problem: "a model built here has no optimizer yet; set optimizer (" + TrainJob.OptimizerKind.allCases.map(\.rawValue).joined(separator: ", ") + ")"))
    }

    @Test("an architecture JSON that cannot be read names the file")
    func unreadableArchitecture() throws {
        let folder = try DataFileFixtures.folder()
        var fromJSON = try job(folder)
        fromJSON.model = folder.appendingPathComponent("absent.json")
        let error = #expect(throws: WorkflowError.self) { try fromJSON.run(progress: .quiet) }
        guard case let .invalidSetting(file, setting, problem)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == fromJSON.model?.path && setting == .model && problem.hasPrefix("cannot read the architecture JSON: "), "\(problem)")
    }

    @Test("optimizer settings that do not apply or are out of range")
    func optimizerSettings() throws {
        let folder = try DataFileFixtures.folder()
        var adam = try job(folder)
        adam.optimizer = .adam
        adam.momentum = 0.9
        expectRefused(adam, .invalidSetting(file: nil, setting: .momentum, problem: "momentum applies to sgd and rmsprop only"))
        adam.momentum = nil
        adam.nesterov = true
        expectRefused(adam, .invalidSetting(file: nil, setting: .nesterov, problem: "nesterov applies to sgd only"))
        var sgd = try job(folder)
        sgd.momentum = 1.5
        expectRefused(sgd, .invalidSetting(file: nil, setting: .momentum, problem: "momentum 1.5 is outside [0, 1]"))
        sgd.momentum = nil
        sgd.learningRate = 0
        expectRefused(sgd, .invalidSetting(file: nil, setting: .learningRate, problem: "learning rate 0.0 is not positive"))
        sgd.learningRate = nil
        sgd.weightDecay = -0.1
        expectRefused(sgd, .invalidSetting(file: nil, setting: .weightDecay, problem: "weightDecay -0.1 is not 0 or more"))
        sgd.weightDecay = nil
        sgd.clipnorm = .infinity
        expectRefused(sgd, .invalidSetting(file: nil, setting: .clipnorm, problem: "clipnorm inf is not positive"))
        sgd.clipnorm = 1
        sgd.clipvalue = 0.5
        expectRefused(sgd, .invalidSetting(file: nil, setting: .clipvalue,
                                           problem: "clipvalue 0.5 is set together with clipnorm; Keras allows one clipping option"))
    }

    @Test("counts and the validation split out of range")
    func countsOutOfRange() throws {
        let folder = try DataFileFixtures.folder()
        var zeroBatch = try job(folder)
        zeroBatch.batchSize = 0
        expectRefused(zeroBatch, .invalidSetting(file: nil, setting: .batchSize, problem: "batch size must be positive, got 0"))
        var split = try job(folder)
        split.validationSplit = 1
        expectRefused(split, .invalidSetting(file: nil, setting: .validationSplit, problem: "validation split must be in [0, 1), got 1.0"))
        var negative = try job(folder)
        negative.epochs = -1
        #expect(throws: WorkflowError.invalidSetting(file: nil, setting: .epochs, problem: "epochs must be at least 0, got -1")) {
            try negative.checkDataParallelSettings()
        }
        #expect(throws: WorkflowError.invalidSetting(file: nil, setting: .batchSize, problem: "batch size must be positive, got 0")) {
            try zeroBatch.checkDataParallelSettings()
        }
        var buffered = try job(folder)
        buffered.shuffleBuffer = 16
        #expect(throws: WorkflowError.invalidSetting(
            file: nil, setting: .shuffleBuffer,
            problem: "data-parallel training shuffles all rows or none; a buffered shuffle of 16 rows is not supported")) {
            try buffered.checkDataParallelSettings()
        }
        #expect(throws: WorkflowError.invalidSetting(file: nil, setting: .validationSplit,
                                                     problem: "validation split must be in [0, 1), got 1.0")) {
            try split.checkDataParallelSettings()
        }
    }

    /// A training run must not be lost to an output name that no format reads, or to a folder
    /// that is not there: both are checked before the first epoch (no per-epoch checkpoint is
    /// written), not at the save after the last.
    @Test("an output name of no known format is refused before training")
    func outputFormatBeforeTraining() throws {
        let folder = try DataFileFixtures.folder()
        var onnx = try job(folder, output: "out.onnx")
        onnx.epochs = 2
        onnx.checkpoint = folder.appendingPathComponent("every-epoch.h5")
        expectRefused(onnx, .invalidSetting(file: onnx.output.path, setting: .output,
                                            problem: "cannot tell the format from the name; use .h5 (native checkpoint), .keras or .weights.h5"))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("every-epoch.h5").path), "the job trained first")
    }

    @Test("a resume with another momentum than the checkpoint's names both values")
    func resumeMomentum() throws {
        let folder = try DataFileFixtures.folder()
        var first = try job(folder, output: "first.h5")
        first.momentum = 0.9
        try first.run(progress: .quiet)
        var resumed = try job(folder, output: "second.h5")
        resumed.model = nil
        resumed.optimizer = nil
        resumed.resume = first.output
        resumed.momentum = 0.5
        expectRefused(resumed, .resumeOptionConflict(file: first.output.path, setting: .momentum, checkpoint: "0.9", given: "0.5"))
        resumed.momentum = 0.9
        #expect(throws: Never.self) { try resumed.run(progress: .quiet) }
    }

    @Test("zero epochs into a native checkpoint have nothing to save")
    func zeroEpochsNative() throws {
        let folder = try DataFileFixtures.folder()
        var none = try job(folder)
        none.epochs = 0
        expectRefused(none, .invalidSetting(file: none.output.path, setting: .epochs, problem: "no epoch ran, so there is nothing to save"))
    }

    @Test("an output in a folder that does not exist is refused before training")
    func outputFolderBeforeTraining() throws {
        let folder = try DataFileFixtures.folder()
        var missing = try job(folder)
        missing.output = folder.appendingPathComponent("absent/out.keras")
        missing.epochs = 2
        missing.checkpoint = folder.appendingPathComponent("every-epoch.h5")
        #expect(throws: WorkflowError.unwritableOutput(file: missing.output.path,
                                                      message: "the folder \(folder.appendingPathComponent("absent").path) does not exist")) {
            try missing.run(progress: .quiet)
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("every-epoch.h5").path), "the job trained first")
        // The data-parallel launcher checks it too, before starting any process.
        #expect(throws: WorkflowError.self) { try missing.checkDataParallelSettings() }
    }

    /// A data file with `x` and `y` as given.
    private func dataFile(_ folder: URL, _ body: (HDF5File) throws -> Void) throws -> URL {
        let url = folder.appendingPathComponent("d-\(UUID().uuidString).h5")
        try HDF5File.atomicWrite(to: url, body: body)
        return url
    }

    @Test("features that are not float, not 2-D, or rows that disagree with the targets name the dataset")
    func dataLayouts() throws {
        let folder = try DataFileFixtures.folder()
        let y = [Double](repeating: 0, count: 8)
        let integers = try dataFile(folder) { file in
            try file.write((0..<24).map(Int32.init), shape: [8, 3], to: "/x")
            try file.write(y, to: "/y")
        }
        #expect(throws: WorkflowError.invalidData(file: integers.path, path: "/x", row: nil, column: nil,
                                                  message: "features must be float32 or float64, found int32")) {
            try TrainingData(file: integers, x: "/x", y: "/y", sparseTargets: false)
        }
        let flat = try dataFile(folder) { file in
            try file.write([Float](repeating: 0, count: 8), to: "/x")
            try file.write(y, to: "/y")
        }
        #expect(throws: WorkflowError.invalidData(file: flat.path, path: "/x", row: nil, column: nil,
                                                  message: "features must be [rows, features] or [rows, height, width, channels], found [8]")) {
            try TrainingData(file: flat, x: "/x", y: "/y", sparseTargets: false)
        }
        let short = try dataFile(folder) { file in
            try file.write([Float](repeating: 0, count: 24), shape: [8, 3], to: "/x")
            try file.write([Double](repeating: 0, count: 6), to: "/y")
        }
        #expect(throws: WorkflowError.invalidData(file: short.path, path: "/y", row: nil, column: nil, message: "6 rows, but /x has 8")) {
            try TrainingData(file: short, x: "/x", y: "/y", sparseTargets: false)
        }
        let unsigned = try dataFile(folder) { file in
            try file.write([Float](repeating: 0, count: 24), shape: [8, 3], to: "/x")
            try file.write([UInt64](repeating: 0, count: 8), to: "/y")
        }
        #expect(throws: WorkflowError.invalidData(file: unsigned.path, path: "/y", row: nil, column: nil,
                                                  message: "targets stored as uint64 cannot be streamed; store them as int64 or float64")) {
            try TrainingData(file: unsigned, x: "/x", y: "/y", sparseTargets: false)
        }
        let empty = try dataFile(folder) { file in
            try file.write([Float](), shape: [0, 3], to: "/x")
            try file.write([Double](), to: "/y")
        }
        #expect(throws: WorkflowError.invalidData(file: empty.path, path: "/x", row: nil, column: nil,
                                                  message: "the dataset is empty (shape [0, 3]); there is nothing to train on")) {
            _ = try TrainingData(file: empty, x: "/x", y: "/y", sparseTargets: false)
                .pipelines(batchSize: 4, order: .sequential, seed: 0, validationSplit: 0)
        }
    }

    @Test("no data files, a file that does not open, and files of different row counts")
    func dataFiles() throws {
        #expect(throws: WorkflowError.unreadableData(file: "", message: "no data files given")) {
            try TrainingData(files: [], x: "/x", y: "/y", sparseTargets: false)
        }
        let folder = try DataFileFixtures.folder()
        let absent = folder.appendingPathComponent("absent.h5")
        let error = #expect(throws: WorkflowError.self) { try TrainingData(file: absent, x: "/x", y: "/y", sparseTargets: false) }
        guard case let .unreadableData(file, message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == absent.path && message.hasPrefix("cannot open the data: "), "\(message)")

        let first = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [Double](repeating: 0, count: 8))
        let second = try dataFile(folder) { file in
            try file.write([Float](repeating: 0, count: 12), shape: [4, 3], to: "/x")
            try file.write([Double](repeating: 0, count: 3), to: "/y")
        }
        #expect(throws: WorkflowError.invalidData(file: second.path, path: "/y", row: nil, column: nil, message: "3 rows, but /x has 4")) {
            try TrainingData(files: [first, second], x: "/x", y: "/y", sparseTargets: false)
        }
    }
}
