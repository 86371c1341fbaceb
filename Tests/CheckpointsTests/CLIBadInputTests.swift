import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// The `batchwise` executable on bad data and hostile configs: exit status 1 and one line on
/// stderr naming file, dataset, row and column (or the JSON location) — never a crash.
@Suite struct CLIBadInputTests {
    private func run(_ arguments: [String]) throws -> (Int32, String) {
        guard NativeProcessResumeTests.executable() != nil else {
            Issue.record("the batchwise executable was not built next to the tests; run `swift build` first")
            return (-1, "")
        }
        return try NativeProcessResumeTests.run(arguments)
    }

    @Test func trainRefusesANaNFeatureNamingFileDatasetRowAndColumn() throws {
        let folder = try DataFileFixtures.folder()
        var x = DataFileFixtures.goodX
        x[5] = .nan
        let data = try DataFileFixtures.writeData(folder, x: x, xShape: [8, 3], y: [0, 1, 0, 1, 1, 0, 1, 0])
        let (status, stderr) = try run(["train", "--model", folder.appendingPathComponent("m.keras").path, "--data", data.path,
                                        "--loss", "binary_crossentropy", "--optimizer", "sgd", "--quiet",
                                        "--save", folder.appendingPathComponent("out.h5").path])
        #expect(status == 1)
        #expect(stderr == "batchwise train: \(data.path): /x row 1, column 2: feature value nan is not finite (1 non-finite value in 24)\n")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.h5").path))
    }

    @Test func trainRefusesAnOutOfRangeSparseLabel() throws {
        let folder = try DataFileFixtures.folder()
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0, 1, 2, 7, 0, 2, 1, 0])
        let (status, stderr) = try run(["train", "--model", folder.appendingPathComponent("c.keras").path, "--data", data.path,
                                        "--loss", "sparse_categorical_crossentropy", "--optimizer", "adam", "--quiet",
                                        "--save", folder.appendingPathComponent("out.keras").path])
        #expect(status == 1)
        #expect(stderr.contains("\(data.path): /y row 3: label 7 is outside 0..<3"), "\(stderr)")
    }

    /// Options are parsed into typed values once: a loss or optimizer name that is not one is a
    /// usage error (status 64) listing the valid names, before any file is read.
    @Test func trainRefusesAnUnknownLossOrOptimizerListingTheValidNames() throws {
        let folder = try DataFileFixtures.folder()
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0, 1, 0, 1, 1, 0, 1, 0])
        let common = ["train", "--model", folder.appendingPathComponent("m.keras").path, "--data", data.path, "--quiet",
                      "--save", folder.appendingPathComponent("out.h5").path]
        let (lossStatus, lossError) = try run(common + ["--loss", "hinge", "--optimizer", "sgd"])
        #expect(lossStatus == 64)
        #expect(lossError.contains("'hinge'") && lossError.contains("binary_crossentropy")
                && lossError.contains("sparse_categorical_crossentropy"), "\(lossError)")
        let (optimizerStatus, optimizerError) = try run(common + ["--loss", "binary_crossentropy", "--optimizer", "adamax"])
        #expect(optimizerStatus == 64)
        #expect(optimizerError.contains("'adamax'") && optimizerError.contains("sgd") && optimizerError.contains("lion"),
                "\(optimizerError)")
        let (probeStatus, _) = try run(["probe-file", "bogus", "--file", data.path])
        #expect(probeStatus == 64)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.h5").path))
    }

    /// `--momentum` without `--optimizer` would keep the model file's optimizer and drop the
    /// momentum: refused, the library's message naming the flag.
    @Test func trainRefusesAMomentumWithoutAnOptimizer() throws {
        let folder = try DataFileFixtures.folder()
        let model = folder.appendingPathComponent("compiled.keras")
        try KerasModelFile.save(try NativeFixtures.model(seed: 4), optimizer: Adam(), loss: .binaryCrossentropy, to: model)
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0, 1, 0, 1, 1, 0, 1, 0])
        let (status, stderr) = try run(["train", "--model", model.path, "--data", data.path, "--momentum", "0.5", "--quiet",
                                        "--save", folder.appendingPathComponent("out.h5").path])
        #expect(status == 1)
        #expect(stderr == "batchwise train: \(model.path): momentum applies to sgd and rmsprop, set as optimizer; without it the "
                + "model file's optimizer (adam) is used as saved (--momentum)\n")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.h5").path))
    }

    @Test func predictRefusesANaNInputUnlessAllowed() throws {
        let folder = try DataFileFixtures.folder()
        var x = DataFileFixtures.goodX
        x[0] = .infinity
        let data = try DataFileFixtures.writeData(folder, x: x, xShape: [8, 3], y: [0])
        let arguments = ["predict", "--model", folder.appendingPathComponent("m.keras").path, "--input", data.path + ":/x",
                         "--output", folder.appendingPathComponent("p.h5").path + ":/p"]
        let (status, stderr) = try run(arguments)
        #expect(status == 1 && stderr.contains("\(data.path): /x row 0, column 0: input value inf is not finite"), "\(stderr)")
        let (allowed, _) = try run(arguments + ["--allow-non-finite"])
        #expect(allowed == 0)
        let file = try HDF5File.open(at: folder.appendingPathComponent("p.h5"), mode: .readOnly)
        defer { try? file.close() }
        let p = try file.read("/p", as: Float.self)
        #expect(p.shape == [8, 1] && p.values[0].isNaN && p.values.dropFirst().allSatisfy(\.isFinite))
    }

    @Test func predictRefusesADeeplyNestedConfigWithoutCrashing() throws {
        let folder = try DataFileFixtures.folder()
        let model = folder.appendingPathComponent("deep.keras")
        let nested = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        try KerasArchive.write(to: model, config: nested, metadata: "{}") { url in
            try FileManager.default.copyItem(at: KerasFixtures.url("seed_model.weights.h5"), to: url)
        }
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0])
        let (status, stderr) = try run(["predict", "--model", model.path, "--input", data.path + ":/x",
                                        "--output", folder.appendingPathComponent("p.h5").path + ":/p"])
        #expect(status == 1)
        #expect(stderr.contains("deep.keras/config.json: model config $: arrays and objects nest deeper than 64 levels"), "\(stderr)")
    }
}
