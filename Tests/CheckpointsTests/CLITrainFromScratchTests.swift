import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Issue 17 items 5 and 3 through the executable: `batchwise train --layers` / `--model
/// config.json` build a seeded model and print its weights' SHA-256; a `.keras` file's compile
/// config is used unless the command line overrides it; the examples of `train --help` run.
@Suite(.serialized) struct CLITrainFromScratchTests {
    static let fixtures = FuzzTests.repository.appendingPathComponent("fixtures/from_scratch")

    private func batchwise(_ arguments: [String]) throws -> ChildProcess {
        try CLIIsolationTests.batchwise(arguments, deadline: 120)
    }

    /// A folder with `d.h5` (16 rows, 1 feature, binary targets) and the Keras-written `config.json`.
    func folder(_ label: String = #function) throws -> URL {
        let folder = try NativeFixtures.folder(label)
        let x = (0..<16).map { Float($0) / 4 - 2 }
        try HDF5File.atomicWrite(to: folder.appendingPathComponent("d.h5")) { file in
            try file.write(x, shape: [16, 1], to: "/x")
            try file.write(x.map { $0 > 0 ? Float(1) : 0 }, shape: [16], to: "/y")
        }
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("config.json"),
                                         to: folder.appendingPathComponent("config.json"))
        return folder
    }

    /// The 64-hex-digit digest on the line `weights sha256: ...` of a successful run.
    private func digest(_ run: ChildProcess) -> String? {
        guard run.status == 0 else { return nil }
        let line = run.stdout.split(separator: "\n").last { $0.hasPrefix("weights sha256: ") }
        return line.map { String($0.dropFirst("weights sha256: ".count)) }.flatMap { $0.count == 64 ? $0 : nil }
    }

    /// The `batchwise train ...` command lines of the help's examples: continuation lines
    /// joined as a shell joins them, then split into words (double quotes group).
    static func helpExamples(_ help: String) -> [[String]] {
        let joined = help.replacingOccurrences(of: "\\\n", with: "")
        return joined.split(separator: "\n").compactMap { line -> [String]? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("batchwise train ") else { return nil }
            var words: [String] = [], current = "", quoted = false
            for character in trimmed {
                if character == "\"" { quoted.toggle() } else if character == " ", !quoted {
                    if !current.isEmpty { words.append(current) }
                    current = ""
                } else { current.append(character) }
            }
            if !current.isEmpty { words.append(current) }
            return Array(words.dropFirst())
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func theHelpExamplesRun() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let help = try batchwise(["train", "--help"])
        #expect(help.status == 0)
        let examples = Self.helpExamples(help.stdout)
        #expect(examples.count == 4, "\(help.stdout)")
        #expect(examples.first?.contains("batch_normalization,dense:8:sigmoid,batch_normalization,dense:1:sigmoid") == true,
                "\(examples)")
        for example in examples {
            // File names become files in the test folder.
            let arguments = example.map { word in
                [".h5", ".keras", ".json"].contains { word.hasSuffix($0) } && !word.hasPrefix("-")
                    ? folder.appendingPathComponent(word).path : word
            }
            let run = try batchwise(arguments + ["--quiet"])
            #expect(run.status == 0 && digest(run) != nil, "\(example): \(run.stderr) \(run.stdout)")
        }
        let built = try KerasModelFile.load(folder.appendingPathComponent("new.keras"))
        #expect(built.model.layers.map { type(of: $0).kerasClassName ?? "" } == ["BatchNormalization", "Dense", "BatchNormalization", "Dense"])
        #expect(built.optimizer is Adam && built.loss == Loss(.binaryCrossentropy))
        let tuned = try NativeCheckpoint.load(from: folder.appendingPathComponent("tuned.h5"))
        // The fine-tune kept new.keras's Adam and its state: one epoch of 1 step before, 2 more now.
        #expect(tuned.optimizer.kind == "adam" && tuned.snapshot.optimizerState.iterations == 3)
        let adamW = try #require(try KerasModelFile.load(folder.appendingPathComponent("adamw.keras")).optimizer as? AdamW)
        #expect(adamW.options.weightDecay == 0.01 && adamW.options.globalClipnorm == 1 && adamW.iterations == 1)
    }

    @Test(.timeLimit(.minutes(5)))
    func oneSeedGivesOneDigestAndTheArchitectureJSONMatchesTheSpec() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("d.h5").path
        func train(_ start: [String], seed: Int, save: String) throws -> String? {
            let run = try batchwise(["train"] + start + ["--data", data, "--loss", "binary_crossentropy", "--optimizer", "adam",
                                                        "--epochs", "2", "--batch-size", "4", "--seed", "\(seed)", "--quiet",
                                                        "--save", folder.appendingPathComponent(save).path])
            #expect(run.status == 0, "\(run.stderr)")
            return digest(run)
        }
        let layers = ["--layers", "batch_normalization,dense:8:sigmoid,batch_normalization,dense:1:sigmoid", "--inputs", "1"]
        let first = try train(layers, seed: 7, save: "a.keras")
        let again = try train(layers, seed: 7, save: "b.h5")
        let other = try train(layers, seed: 8, save: "c.keras")
        let json = try train(["--model", folder.appendingPathComponent("config.json").path], seed: 7, save: "d.keras")
        #expect(first != nil && first == again && first != other)
        #expect(json == first)
        let saved = try KerasModelFile.load(folder.appendingPathComponent("a.keras"))
        #expect(NativeFixtures.bits(saved.model)
                == NativeFixtures.bits(try NativeCheckpoint.load(from: folder.appendingPathComponent("b.h5")).snapshot.model))
    }

    @Test func aBadLayerSpecIsAUsageErrorNamingTheItemAndPosition() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try batchwise(["train", "--layers", "dense:8:relu,dense:eight", "--inputs", "1",
                                 "--data", folder.appendingPathComponent("d.h5").path, "--loss", "binary_crossentropy",
                                 "--optimizer", "adam", "--save", folder.appendingPathComponent("x.keras").path])
        #expect(run.status == 64)
        #expect(run.stderr.contains("item 2 \"dense:eight\": units 'eight' is not a positive integer"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("x.keras").path))

        // --inputs belongs to --layers: with a model file it would be ignored, so it is refused.
        let model = Self.fixtures.appendingPathComponent("compiled_sgd_logits.keras")
        let stray = try batchwise(["train", "--model", model.path, "--inputs", "3", "--quiet",
                                   "--data", folder.appendingPathComponent("d.h5").path,
                                   "--save", folder.appendingPathComponent("x.keras").path])
        #expect(stray.status == 1)
        #expect(stray.stderr == "batchwise train: the input shape applies only to a model built from layers (--inputs)\n",
                "\(stray.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("x.keras").path))
    }

    /// Item 3: without --optimizer/--loss a Keras-written file trains with its SGD (momentum
    /// 0.5, its saved iterations) and its from_logits loss; the options override both.
    @Test(.timeLimit(.minutes(5)))
    func theFilesCompileConfigIsUsedUnlessOverridden() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = Self.fixtures.appendingPathComponent("compiled_sgd_logits.keras")
        let keras = try KerasModelFile.load(model)
        let savedIterations = try #require(keras.optimizerState?.iterations)
        let common = ["train", "--model", model.path, "--data", folder.appendingPathComponent("d.h5").path,
                      "--batch-size", "8", "--quiet"]
        let asSaved = try batchwise(common + ["--save", folder.appendingPathComponent("file.h5").path])
        #expect(asSaved.status == 0, "\(asSaved.stderr)")
        let fromFile = try NativeCheckpoint.load(from: folder.appendingPathComponent("file.h5"))
        #expect(fromFile.optimizer == .sgd(learningRate: Float(0.05), momentum: 0.5, nesterov: false))
        #expect(fromFile.loss == Loss(.binaryCrossentropy, fromLogits: true))
        #expect(fromFile.snapshot.optimizerState.iterations == savedIterations + 2)

        let overridden = try batchwise(common + ["--optimizer", "adam", "--loss", "mean_squared_error",
                                                 "--save", folder.appendingPathComponent("cli.h5").path])
        #expect(overridden.status == 0, "\(overridden.stderr)")
        let fromOptions = try NativeCheckpoint.load(from: folder.appendingPathComponent("cli.h5"))
        #expect(fromOptions.optimizer == .adam(learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7))
        #expect(fromOptions.loss == Loss(.meanSquaredError))
        #expect(fromOptions.snapshot.optimizerState.iterations == 2)
    }

    /// An optimizer Batchwise does not have in the file is named with its config path, never
    /// replaced; --optimizer overrides it.
    @Test(.timeLimit(.minutes(5)))
    func anUnsupportedOptimizerInTheFileIsNamedWithItsPath() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = Self.fixtures.appendingPathComponent("compiled_adamax.keras")
        let common = ["train", "--model", model.path, "--data", folder.appendingPathComponent("d.h5").path, "--quiet"]
        let refused = try batchwise(common + ["--save", folder.appendingPathComponent("r.h5").path])
        #expect(refused.status == 1)
        #expect(refused.stderr == "batchwise train: \(model.path): compile config $.compile_config.optimizer.class_name: 'Adamax' is "
                + "not supported by Batchwise; set the optimizer explicitly (--optimizer)\n", "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("r.h5").path))
        let overridden = try batchwise(common + ["--optimizer", "sgd", "--save", folder.appendingPathComponent("s.h5").path])
        #expect(overridden.status == 0, "\(overridden.stderr)")
    }
}
