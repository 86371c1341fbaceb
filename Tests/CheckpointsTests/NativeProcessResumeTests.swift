import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Exact resume across PROCESSES, through the `batchwise train` executable that `swift build`
/// / `swift test` put next to the test bundle: 5 epochs straight versus 2 epochs, exit, and a
/// new process resuming to 5 — and a mid-epoch `--checkpoint --every` file resumed likewise.
@Suite(.serialized) struct NativeProcessResumeTests {
    /// The built `batchwise` executable: beside the test bundle, else in .build/debug.
    static func executable() -> URL? {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("batchwise")
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let debug = package.appendingPathComponent(".build/debug/batchwise")
        return [beside, debug].first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs `batchwise` with `arguments`; returns (status, stderr).
    static func run(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        guard let executable = Self.executable() else { throw CocoaError(.fileNoSuchFile) }
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ChildProcess.tiedEnvironment()
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// Data (int64 labels, float64 features) and an initial `.keras` model, in `folder`.
    private func inputs(_ folder: URL) throws -> [String] {
        let (x, y) = try NativeFixtures.data(rows: 200, seed: 21)
        try HDF5File.atomicWrite(to: folder.appendingPathComponent("d.h5")) { file in
            try file.write(x.scalars.map(Double.init), shape: x.shape, to: "/features")
            try file.write(y.scalars.map { Int64($0) }, to: "/labels")
        }
        try KerasModelFile.save(try NativeFixtures.model(seed: 4), to: folder.appendingPathComponent("m.keras"))
        return ["--data", folder.appendingPathComponent("d.h5").path, "--x", "/features", "--y", "/labels",
                "--batch-size", "16", "--shuffle-buffer", "32", "--seed", "9", "--validation-split", "0.2", "--quiet"]
    }

    private func expectSame(_ a: URL, _ b: URL) throws {
        let left = try NativeCheckpoint.load(from: a)
        let right = try NativeCheckpoint.load(from: b)
        #expect(NativeFixtures.bits(left.snapshot.model) == NativeFixtures.bits(right.snapshot.model))
        #expect(left.snapshot.model.randomStates == right.snapshot.model.randomStates)
        #expect(left.snapshot.optimizerState.iterations == right.snapshot.optimizerState.iterations)
        #expect(NativeFixtures.bits(left.snapshot.optimizerState) == NativeFixtures.bits(right.snapshot.optimizerState))
        #expect(left.snapshot.history == right.snapshot.history)
        #expect(left.snapshot.globalStep == right.snapshot.globalStep)
    }

    @Test func twoEpochsThenANewProcessForThreeMoreEqualsFiveStraight() throws {
        guard Self.executable() != nil else {
            Issue.record("the batchwise executable was not built next to the tests; run `swift build` first")
            return
        }
        let folder = try NativeFixtures.folder()
        let common = try inputs(folder)
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        let fresh = ["train", "--model", path("m.keras"), "--loss", "binary_crossentropy", "--optimizer", "adam",
                     "--learning-rate", "0.01"] + common
        // 160 training rows / 16 = 10 steps per epoch; --every 7 last fires at step 49 (epoch 5, step 9).
        let straight = try Self.run(fresh + ["--epochs", "5", "--save", path("straight.h5"),
                                             "--checkpoint", path("mid.h5"), "--every", "7"])
        #expect(straight.0 == 0, "\(straight.1)")
        let two = try Self.run(fresh + ["--epochs", "2", "--save", path("two.h5")])
        #expect(two.0 == 0, "\(two.1)")
        let resumed = try Self.run(["train", "--resume", path("two.h5"), "--epochs", "5", "--save", path("resumed.h5")] + common)
        #expect(resumed.0 == 0, "\(resumed.1)")
        try expectSame(folder.appendingPathComponent("resumed.h5"), folder.appendingPathComponent("straight.h5"))
        #expect(try NativeCheckpoint.load(from: folder.appendingPathComponent("resumed.h5")).snapshot.history.epochs == [0, 1, 2, 3, 4])

        let mid = try NativeCheckpoint.load(from: folder.appendingPathComponent("mid.h5"))
        #expect(mid.snapshot.globalStep == 49 && mid.snapshot.stepInEpoch == 9 && mid.snapshot.iteratorState != nil)
        let fromMid = try Self.run(["train", "--resume", path("mid.h5"), "--epochs", "5", "--save", path("from-mid.h5")] + common)
        #expect(fromMid.0 == 0, "\(fromMid.1)")
        try expectSame(folder.appendingPathComponent("from-mid.h5"), folder.appendingPathComponent("straight.h5"))
    }

    @Test func errorsAreOneLineOnStandardErrorWithExitStatusOne() throws {
        guard Self.executable() != nil else {
            Issue.record("the batchwise executable was not built next to the tests; run `swift build` first")
            return
        }
        let folder = try NativeFixtures.folder()
        let missing = folder.appendingPathComponent("none.h5").path
        let (status, text) = try Self.run(["train", "--resume", missing, "--data", missing, "--save",
                                           folder.appendingPathComponent("o.h5").path])
        #expect(status == 1)
        #expect(text.hasPrefix("batchwise train: ") && text.contains(missing))
        #expect(text.filter { $0 == "\n" }.count == 1)
    }

    /// A resume whose command line repeats the first run's options continues it exactly; one
    /// naming another optimizer is refused, naming the flag and both optimizers.
    @Test func theCommandLineThatWroteTheCheckpointResumesIt() throws {
        guard Self.executable() != nil else {
            Issue.record("the batchwise executable was not built next to the tests; run `swift build` first")
            return
        }
        let folder = try NativeFixtures.trainingFolder()
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        let command = ["train", "--model", path("m.keras"), "--data", path("d.h5"), "--loss", "binary_crossentropy",
                       "--optimizer", "adam", "--learning-rate", "0.01", "--batch-size", "8", "--seed", "4", "--quiet"]
        let one = try Self.run(command + ["--epochs", "1", "--save", path("one.h5")])
        #expect(one.0 == 0, "\(one.1)")
        let straight = try Self.run(command + ["--epochs", "2", "--save", path("straight.h5")])
        #expect(straight.0 == 0, "\(straight.1)")
        let resumed = try Self.run(command + ["--resume", path("one.h5"), "--epochs", "2",
                                                                  "--save", path("resumed.h5")])
        #expect(resumed.0 == 0, "\(resumed.1)")
        let a = try NativeCheckpoint.load(from: folder.appendingPathComponent("resumed.h5"))
        let b = try NativeCheckpoint.load(from: folder.appendingPathComponent("straight.h5"))
        #expect(NativeFixtures.bits(a.snapshot.model) == NativeFixtures.bits(b.snapshot.model))
        #expect(a.snapshot.history == b.snapshot.history)

        var conflicting = command
        conflicting[conflicting.firstIndex(of: "adam")!] = "sgd"
        let refused = try Self.run(conflicting + ["--resume", path("one.h5"), "--epochs", "2",
                                                                      "--save", path("refused.h5")])
        #expect(refused.0 == 1)
        #expect(refused.1.contains("--optimizer") && refused.1.contains("adam") && refused.1.contains("sgd"), "\(refused.1)")
    }
}
