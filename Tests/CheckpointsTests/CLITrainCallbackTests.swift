import Datasets
import Tensors
import Foundation
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

#if os(Linux)
/// `batchwise train`'s Keras callbacks (`--early-stopping-patience`, `--restore-best-weights`,
/// `--csv-log`) in one process: the stop, the weights and the CSV rows of the library's
/// `Trainer.fit` with `EarlyStopping` and `CSVLogger` on the same data; a resume that stops where
/// the uninterrupted run stops; the settings a resume or the data cannot use refused before training.
@Suite(.serialized) struct CLITrainCallbackTests {
    /// `d.h5`: 96 rows of 4 features and a class label in 0..<3 (the data-parallel CLI tests' data).
    private let fixtures = DataParallelTrainCLITests()
    static let epochs = 40

    /// A BN-MLP trained with SGD on `folder`'s data, a quarter held out, saving to `save`.
    static func trainArguments(_ folder: URL, save: String, epochs: Int = epochs, learningRate: Float = 0.01,
                               extra: [String] = []) -> [String] {
        ["train", "--layers", "dense:8:relu,batch_normalization,dense:3:softmax", "--inputs", "4",
         "--data", folder.appendingPathComponent("d.h5").path, "--loss", "sparse_categorical_crossentropy",
         "--optimizer", "sgd", "--learning-rate", "\(learningRate)", "--seed", "3", "--batch-size", "32", "--epochs", "\(epochs)",
         "--validation-split", "0.25", "--save", folder.appendingPathComponent(save).path] + extra
    }

    private func batchwise(_ arguments: [String]) throws -> ChildProcess {
        try CLIIsolationTests.batchwise(arguments, deadline: 120)
    }

    static func digest(_ run: ChildProcess) -> [String] {
        run.stdout.split(separator: "\n").filter { $0.hasPrefix("weights sha256: ") }.map { String($0.dropFirst(16)) }
    }

    /// The CSV file's header and rows, split at commas.
    static func csv(_ url: URL) throws -> [[String]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.components(separatedBy: ",") }
    }

    /// The rows `history` makes of a Keras CSVLogger file: `epoch`, then the logs sorted by name.
    static func csvRows(_ history: History) -> [[String]] {
        [["epoch"] + history.names] + history.epochs.indices.map { index in
            ["\(history.epochs[index])"] + history.names.map { "\(history[$0]![index])" }
        }
    }

    /// The library's run of the command line `trainArguments(... "--no-shuffle")` with
    /// `--early-stopping-patience 2 --restore-best-weights`: the same seeded model, SGD and
    /// batches (rows 0..<72 in file order, then 72..<96 held out), `Trainer.fit` with
    /// `EarlyStopping(monitor: "val_loss", patience: 2, restoreBest: true)` and a `CSVLogger`.
    private func reference(_ folder: URL, epochs: Int = epochs, learningRate: Float = 0.01, callbacks: [any TrainingCallback]? = nil)
        throws -> (history: History, model: Sequential) {
        let x = (0..<(96 * 4)).map { index -> Float in Float((index * 37) % 101) / 50 - 1 }
        let y = (0..<96).map { row -> Float in Float((row * 7) % 3) }
        func rows(_ range: Range<Int>) throws -> AnyDataset<Trainer.Batch> {
            let features = try Tensor(shape: [range.count, 4], scalars: Array(x[(range.lowerBound * 4)..<(range.upperBound * 4)]))
            let targets = try Tensor(shape: [range.count], scalars: Array(y[range]))
            return try Slices(features, targets).batch(32).map { ($0.0, $0.1) }.eraseToAnyDataset()
        }
        let model = try Sequential(inputShape: [4], [Dense(units: 8, activation: .relu), BatchNormalization(),
                                                     Dense(units: 3, activation: .softmax)], seed: 3)
        var trainer = Trainer(model: model, optimizer: OptimizerConfig.sgd(learningRate: learningRate, momentum: 0, nesterov: false).makeOptimizer(),
                              loss: Loss(.sparseCategoricalCrossentropy))
        let history = try trainer.fit(try rows(0..<72), epochs: epochs, validationData: try rows(72..<96),
                                      callbacks: callbacks ?? [EarlyStopping(monitor: "val_loss", patience: 2, restoreBest: true),
                                                               CSVLogger(url: folder.appendingPathComponent("reference.csv"))],
                                      progress: .quiet)
        return (history, trainer.model)
    }

    /// The command line stops at the epoch where the library's `fit` with `EarlyStopping` stops,
    /// says so as Keras does, saves the best epoch's weights bit for bit, and its CSV file is
    /// the History row for row, as the library's `CSVLogger` writes it.
    @Test(.timeLimit(.minutes(3)))
    func earlyStoppingStopsWhereTheLibrarysFitStops() throws {
        let folder = try fixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let expected = try reference(folder)
        let stopped = expected.history.epochs.count
        #expect(stopped > 3 && stopped < Self.epochs, "the reference must stop early, after a few epochs: \(stopped)")
        let losses = try #require(expected.history["val_loss"])
        let best = losses.firstIndex(of: losses.min()!)! + 1
        let log = folder.appendingPathComponent("log.csv")
        let run = try batchwise(Self.trainArguments(folder, save: "out.h5", extra: [
            "--no-shuffle", "--early-stopping-patience", "2", "--restore-best-weights", "--csv-log", log.path]))
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0 == "Epoch \(stopped): early stopping" }.count == 1, "\(run.stdout)")
        #expect(lines.contains("Restoring model weights from the end of the best epoch: \(best)."), "\(run.stdout)")
        let saved = try NativeCheckpoint.load(from: folder.appendingPathComponent("out.h5")).snapshot
        #expect(saved.history == expected.history)
        #expect(NativeFixtures.bits(saved.model) == NativeFixtures.bits(expected.model))
        let rows = try Self.csv(log)
        #expect(rows == Self.csvRows(expected.history) && rows.count == stopped + 1, "\(rows)")
        #expect(try String(contentsOf: log, encoding: .utf8)
                == String(contentsOf: folder.appendingPathComponent("reference.csv"), encoding: .utf8))
    }

    /// `--reduce-lr-on-plateau-patience 1 --reduce-lr-factor 0.5` trains the History and the
    /// weights of the library's `fit` with `ReduceLROnPlateau(monitor: "val_loss", factor: 0.5,
    /// patience: 1)`, which reduces the rate of 0.1 from the third epoch on this data.
    @Test(.timeLimit(.minutes(2)))
    func reduceLROnPlateauTrainsAsTheLibrarysFit() throws {
        let folder = try fixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let expected = try reference(folder, epochs: 8, learningRate: 0.1,
                                     callbacks: [try ReduceLROnPlateau(monitor: "val_loss", factor: 0.5, patience: 1)])
        let run = try batchwise(Self.trainArguments(folder, save: "out.h5", epochs: 8, learningRate: 0.1, extra: [
            "--no-shuffle", "--reduce-lr-on-plateau-patience", "1", "--reduce-lr-factor", "0.5"]))
        #expect(run.status == 0, "\(run.stderr)")
        let saved = try NativeCheckpoint.load(from: folder.appendingPathComponent("out.h5")).snapshot
        #expect(saved.history == expected.history && saved.history.epochs.count == 8)
        #expect(NativeFixtures.bits(saved.model) == NativeFixtures.bits(expected.model))
        let reduced = try #require(saved.callbackStates["ReduceLROnPlateau"]?.values["learning_rate"], "no reduction was made")
        // Reduced twice at least (0.1 · 0.5²), so that the reduced rate trained some epochs.
        #expect(reduced <= 0.025, "\(reduced)")
    }

    /// A run checkpointed an epoch before its stop and resumed with the same options stops at the epoch,
    /// with the weights and the CSV file (continued, not restarted) of the uninterrupted run.
    @Test(.timeLimit(.minutes(4)))
    func aResumedRunStopsWhereTheUninterruptedOneStops() throws {
        let folder = try fixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let options = ["--early-stopping-patience", "2", "--restore-best-weights"]
        let wholeCheckpoint = folder.appendingPathComponent("whole-run.h5")
        let whole = try batchwise(Self.trainArguments(folder, save: "whole.h5", extra: options + [
            "--csv-log", folder.appendingPathComponent("whole.csv").path, "--checkpoint", wholeCheckpoint.path]))
        #expect(whole.status == 0, "\(whole.stderr)")
        let uninterrupted = try NativeCheckpoint.load(from: folder.appendingPathComponent("whole.h5")).snapshot
        #expect(uninterrupted.history.epochs.count > 3 && uninterrupted.history.epochs.count < Self.epochs)
        let log = folder.appendingPathComponent("parts.csv")
        let checkpoint = folder.appendingPathComponent("run.h5")
        // Checkpointed an epoch before the stop, after the best epoch: early stopping is waiting.
        let stopped = uninterrupted.history.epochs.count
        #expect(uninterrupted.callbackStates["EarlyStopping"]?.values["best_epoch"].map { Int($0) < stopped - 2 } == true)
        let first = try batchwise(Self.trainArguments(folder, save: "first.h5", epochs: stopped - 1, extra: options + [
            "--csv-log", log.path, "--checkpoint", checkpoint.path]))
        #expect(first.status == 0, "\(first.stderr)")
        let resumed = try batchwise(["train", "--resume", checkpoint.path, "--data", folder.appendingPathComponent("d.h5").path,
                                     "--epochs", "\(Self.epochs)", "--validation-split", "0.25", "--seed", "3",
                                     "--save", folder.appendingPathComponent("resumed.h5").path, "--csv-log", log.path] + options)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(Self.digest(resumed) == Self.digest(whole) && Self.digest(whole).count == 1, "\(resumed.stdout)\n\(whole.stdout)")
        let stopLine = { (run: ChildProcess) in run.stdout.split(separator: "\n").filter { $0.contains("early stopping") && $0.hasPrefix("Epoch ") } }
        #expect(stopLine(resumed) == stopLine(whole) && stopLine(whole).count == 1, "\(resumed.stdout)")
        let again = try NativeCheckpoint.load(from: folder.appendingPathComponent("resumed.h5")).snapshot
        #expect(again.history == uninterrupted.history)
        #expect(NativeFixtures.bits(again.model) == NativeFixtures.bits(uninterrupted.model))
        #expect(try Self.csv(log) == Self.csv(folder.appendingPathComponent("whole.csv")))

        // The stopped run's last checkpoint resumed: it had stopped, so nothing more is trained.
        let finished = try batchwise(["train", "--resume", wholeCheckpoint.path, "--data", folder.appendingPathComponent("d.h5").path,
                                      "--epochs", "\(Self.epochs)", "--validation-split", "0.25", "--seed", "3",
                                      "--save", folder.appendingPathComponent("finished.h5").path] + options)
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(Self.digest(finished) == Self.digest(whole) && stopLine(finished) == stopLine(whole), "\(finished.stdout)")
        #expect(!finished.stdout.contains("Epoch \(uninterrupted.history.epochs.count + 1)/"), "\(finished.stdout)")
        let unchanged = try NativeCheckpoint.load(from: folder.appendingPathComponent("finished.h5")).snapshot
        #expect(unchanged.history == uninterrupted.history)
        #expect(NativeFixtures.bits(unchanged.model) == NativeFixtures.bits(uninterrupted.model))
    }

    /// Settings that cannot work are one line naming the option, before any epoch: nothing is
    /// saved and no CSV file is created or changed.
    @Test(.timeLimit(.minutes(4)))
    func unusableCallbackSettingsAreRefusedBeforeTraining() throws {
        let folder = try fixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = folder.appendingPathComponent("log.csv")
        let save = folder.appendingPathComponent("out.h5")
        func expectRefused(_ arguments: [String], naming phrases: [String], line: Int = #line) throws {
            let run = try batchwise(arguments)
            #expect(run.status == 1 && run.signal == nil && !run.timedOut, "line \(line): \(run.stderr)")
            let lines = run.stderr.split(separator: "\n")
            #expect(lines.count == 1 && phrases.allSatisfy(run.stderr.contains), "line \(line): \(run.stderr)")
            #expect(!run.stdout.contains("Epoch 1/"), "line \(line): trained: \(run.stdout)")
            #expect(!FileManager.default.fileExists(atPath: save.path), "line \(line)")
            #expect(!FileManager.default.fileExists(atPath: log.path), "line \(line)")
            // Each case on its own: what a failed case wrote does not fail the next ones.
            for file in [save, log] { try? FileManager.default.removeItem(at: file) }
        }
        var noSplit = Self.trainArguments(folder, save: "out.h5")
        noSplit.removeSubrange(noSplit.firstIndex(of: "--validation-split")!...noSplit.firstIndex(of: "--validation-split")! + 1)
        try expectRefused(Self.trainArguments(folder, save: "out.h5", extra: ["--early-stopping-patience=-1", "--csv-log", log.path]),
                          naming: ["--early-stopping-patience", "-1"])
        try expectRefused(Self.trainArguments(folder, save: "out.h5", extra: ["--early-stopping-patience=-1", "--csv-log", log.path,
                                                                            "--ranks", "2"]),
                          naming: ["--early-stopping-patience", "-1"])
        try expectRefused(noSplit + ["--early-stopping-patience", "2", "--early-stopping-monitor", "val_loss", "--csv-log", log.path],
                          naming: ["--early-stopping-monitor", "val_loss", "validation split"])
        try expectRefused(Self.trainArguments(folder, save: "out.h5", extra: ["--reduce-lr-on-plateau-patience", "1",
                                                                            "--reduce-lr-factor", "1.5"]),
                          naming: ["--reduce-lr-factor", "1.5"])
        let missing = folder.appendingPathComponent("missing/log.csv").path
        try expectRefused(Self.trainArguments(folder, save: "out.h5", extra: ["--csv-log", missing]),
                          naming: ["--csv-log", missing, "does not exist"])
        try expectRefused(Self.trainArguments(folder, save: "out.h5", extra: ["--csv-log", folder.path]),
                          naming: ["--csv-log", "is a folder"])

        // A model file whose optimizer's rate is a schedule, which no reduction can change.
        let scheduled = folder.appendingPathComponent("scheduled.keras")
        try KerasModelFile.save(
            try Sequential(inputShape: [4], [Dense(units: 3, activation: .softmax)], seed: 1),
            optimizer: Adam(options: OptimizerOptions(learningRate: .schedule(ExponentialDecay(initialLearningRate: 0.01, decaySteps: 3,
                                                                                               decayRate: 0.5)))),
            loss: Loss(.sparseCategoricalCrossentropy), to: scheduled)
        try expectRefused(["train", "--model", scheduled.path, "--data", folder.appendingPathComponent("d.h5").path, "--epochs", "3",
                           "--validation-split", "0.25", "--save", save.path, "--csv-log", log.path,
                           "--reduce-lr-on-plateau-patience", "1"],
                          naming: ["--reduce-lr-on-plateau-patience", "schedule"])

        // A checkpoint of a run with early stopping (patience 2) resumed with other settings.
        let checkpoint = folder.appendingPathComponent("run.h5")
        let first = try batchwise(Self.trainArguments(folder, save: "first.h5", epochs: 2, extra: [
            "--early-stopping-patience", "2", "--checkpoint", checkpoint.path]))
        #expect(first.status == 0, "\(first.stderr)")
        let resume = ["train", "--resume", checkpoint.path, "--data", folder.appendingPathComponent("d.h5").path,
                      "--epochs", "5", "--validation-split", "0.25", "--save", save.path, "--csv-log", log.path]
        try expectRefused(resume + ["--early-stopping-patience", "3"],
                          naming: ["--early-stopping-patience 3 differs from the checkpointed run's 2", checkpoint.path])
        try expectRefused(resume, naming: ["--early-stopping-patience none differs from the checkpointed run's 2"])
        try expectRefused(resume + ["--early-stopping-patience", "2", "--restore-best-weights"],
                          naming: ["--restore-best-weights true differs from the checkpointed run's false"])
        // A checkpoint of a run without callbacks resumed with early stopping.
        let plain = folder.appendingPathComponent("plain.h5")
        let noCallbacks = try batchwise(Self.trainArguments(folder, save: "plain.h5", epochs: 2))
        #expect(noCallbacks.status == 0, "\(noCallbacks.stderr)")
        var plainResume = resume
        plainResume[2] = plain.path
        try expectRefused(plainResume + ["--early-stopping-patience", "2"],
                          naming: ["--early-stopping-patience 2 differs from the checkpointed run's none", "--model"])
    }
}
#endif
