import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// `batchwise train --optimizer` takes every optimizer Batchwise implements with its main
/// hyper-parameters as typed options: each trains one step and the saved `.keras` compile
/// config names that optimizer with those settings; given without `--optimizer` they override
/// the model file's optimizer's; bad combinations are usage errors naming the flags.
@Suite(.serialized) struct CLIOptimizerOptionTests {
    private func batchwise(_ arguments: [String]) throws -> ChildProcess {
        try CLIIsolationTests.batchwise(arguments, deadline: 120)
    }

    /// A folder with `d.h5`: 16 rows of 1 feature and binary targets (one batch of 16 per epoch).
    private func folder(_ label: String = #function) throws -> URL {
        try CLITrainFromScratchTests().folder(label)
    }

    /// One case per optimizer: its flags and what the saved config must then hold.
    static let cases: [(name: String, flags: [String], check: @Sendable (any KerasOptimizer) -> Bool)] = [
        ("sgd", ["--momentum", "0.9", "--nesterov", "--clipvalue", "0.5"],
         { ($0 as? SGD).map { $0.momentum == 0.9 && $0.nesterov && $0.options.clipvalue == 0.5 } ?? false }),
        ("adam", ["--clipnorm", "0.5"], { ($0 as? Adam)?.options.clipnorm == 0.5 }),
        ("adamw", ["--weight-decay", "0.02", "--global-clipnorm", "1"],
         { ($0 as? AdamW).map { $0.options.weightDecay == 0.02 && $0.options.globalClipnorm == 1 } ?? false }),
        ("rmsprop", ["--momentum", "0.5", "--weight-decay", "0.01"],
         { ($0 as? RMSprop).map { $0.momentum == 0.5 && $0.options.weightDecay == 0.01 } ?? false }),
        ("adagrad", ["--clipnorm", "2"], { ($0 as? Adagrad)?.options.clipnorm == 2 }),
        ("nadam", ["--weight-decay", "0.001"], { ($0 as? Nadam)?.options.weightDecay == 0.001 }),
        ("lion", ["--global-clipnorm", "0.25"], { ($0 as? Lion)?.options.globalClipnorm == 0.25 }),
    ]

    @Test(.timeLimit(.minutes(5)))
    func everyOptimizerTrainsOneStepAndIsSavedWithItsSettings() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Every optimizer Batchwise implements has a case here (the registry is sorted by type name).
        #expect(Self.cases.map(\.name).sorted() == KerasOptimizerTypes.all.map { $0.kerasName }.sorted())
        for (name, flags, check) in Self.cases {
            let saved = folder.appendingPathComponent("\(name).keras")
            let run = try batchwise(["train", "--layers", "dense:1:sigmoid", "--inputs", "1", "--data",
                                     folder.appendingPathComponent("d.h5").path, "--loss", "binary_crossentropy",
                                     "--optimizer", name, "--learning-rate", "0.05", "--batch-size", "16", "--quiet",
                                     "--save", saved.path] + flags)
            #expect(run.status == 0, "\(name): \(run.stderr)")
            let loaded = try KerasModelFile.load(saved)
            let optimizer = try #require(loaded.optimizer as? any KerasOptimizer, "\(name)")
            #expect(type(of: optimizer).kerasName == name)
            #expect(optimizer.options.learningRate == .constant(0.05), "\(name)")
            #expect(check(optimizer), "\(name): \(optimizer.identity)")
            #expect(loaded.optimizerState?.iterations == 1, "\(name): one step")
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func optionsWithoutAnOptimizerOverrideTheModelFilesAndKeepTheRest() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("d.h5").path
        let first = folder.appendingPathComponent("first.keras"), second = folder.appendingPathComponent("second.keras")
        let made = try batchwise(["train", "--layers", "dense:1:sigmoid", "--inputs", "1", "--data", data, "--loss",
                                  "binary_crossentropy", "--optimizer", "rmsprop", "--momentum", "0.5", "--clipnorm", "1",
                                  "--quiet", "--save", first.path])
        #expect(made.status == 0, "\(made.stderr)")
        let tuned = try batchwise(["train", "--model", first.path, "--data", data, "--weight-decay", "0.03",
                                   "--global-clipnorm", "2", "--quiet", "--save", second.path])
        #expect(tuned.status == 0, "\(tuned.stderr)")
        let optimizer = try #require(try KerasModelFile.load(second).optimizer as? RMSprop)
        #expect(optimizer.momentum == 0.5 && optimizer.options.weightDecay == 0.03)
        // The command line's clipping replaces the file's (Keras allows one).
        #expect(optimizer.options.globalClipnorm == 2 && optimizer.options.clipnorm == nil)
        #expect(optimizer.iterations == 2, "the file's optimizer state is continued")
    }

    @Test func badCombinationsAreUsageErrorsNamingTheFlags() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let common = ["train", "--layers", "dense:1:sigmoid", "--inputs", "1", "--data", folder.appendingPathComponent("d.h5").path,
                      "--loss", "binary_crossentropy", "--save", folder.appendingPathComponent("x.keras").path]
        let cases: [([String], String)] = [
            (["--optimizer", "adam", "--nesterov"], "--nesterov applies to --optimizer sgd, not adam"),
            (["--optimizer", "lion", "--momentum", "0.9"], "--momentum applies to --optimizer sgd or rmsprop, not lion"),
            (["--optimizer", "adamw", "--clipnorm", "1", "--clipvalue", "2"], "not --clipnorm and --clipvalue"),
            (["--optimizer", "sgd", "--weight-decay=-1"], "--weight-decay must be 0 or more, got -1.0"),
            (["--optimizer", "sgd", "--global-clipnorm", "0"], "--global-clipnorm must be positive, got 0.0"),
            (["--optimizer", "adagrad", "--learning-rate", "0"], "--learning-rate must be positive, got 0.0"),
            (["--optimizer", "adamax"], "adamax"),
        ]
        for (flags, message) in cases {
            let run = try batchwise(common + flags)
            #expect(run.status == 64 && run.stderr.contains(message), "\(flags): \(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("x.keras").path))
        let help = try batchwise(["train", "--help"])
        #expect(help.stdout.contains("sgd|adam|adamw|rmsprop|adagrad|nadam|lion") && help.stdout.contains("--global-clipnorm"),
                "\(help.stdout)")
    }
}
