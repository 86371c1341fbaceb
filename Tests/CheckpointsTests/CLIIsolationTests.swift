import Foundation
import HDF5
import Testing
import Tensors
@testable import Checkpoints
import CheckpointsTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The CLI reads user files in an isolated child first (`IsolatedProbe`), so files on which
/// libhdf5 1.10.8 itself crashes or loops end in a one-line error and exit status 1.
/// The hostile files are fuzz mutants (master seed 0x5EED) rebuilt from the fixtures.
@Suite(.serialized) struct CLIIsolationTests {
    static let models = FuzzTests.repository.appendingPathComponent("fixtures/keras-models")

    /// Fuzz case `index` of the default campaign, whose base must be the fixture `fixture`
    /// (`baseIndex` in `FuzzTests.bases`).
    static func mutant(case index: Int, baseIndex: Int, fixture: String, in folder: URL) throws -> URL {
        var rng = SplitMix64(seed: SplitMix64.derivedSeed(0x5EED, UInt64(index)))
        #expect(rng.nextIndex(below: 5) == baseIndex, "case \(index) no longer mutates \(fixture)")
        let bytes = [UInt8](try Data(contentsOf: models.appendingPathComponent(fixture)))
        let mutation = FuzzMutation.random(length: bytes.count, using: &rng)
        let url = folder.appendingPathComponent("case-\(index)-" + fixture)
        try Data(mutation.apply(to: bytes)).write(to: url)
        return url
    }

    static func batchwise(_ arguments: [String], deadline: Double = 60,
                          environment: [String: String] = [:]) throws -> ChildProcess {
        let executable = try #require(ChildProcess.built("batchwise"), "build the batchwise executable first")
        return try ChildProcess.run(executable, arguments, deadline: deadline, captureStandardOutput: true,
                                    environment: environment)
    }

    static func predictArguments(model: URL, folder: URL) throws -> [String] {
        let data = folder.appendingPathComponent("x.h5")
        if !FileManager.default.fileExists(atPath: data.path) {
            try HDF5File.atomicWrite(to: data) { try $0.write([Float](repeating: 0.5, count: 40), shape: [4, 10], to: "x") }
        }
        return ["predict", "--model", model.path, "--input", data.path + ":/x", "--output", folder.appendingPathComponent("y.h5").path + ":/y"]
    }

    /// One line naming the file, exit status 1, no signal: what every hostile file must produce.
    static func expectCleanFailure(_ run: ChildProcess, command: String, file: URL, saying phrase: String) {
        #expect(run.signal == nil && !run.timedOut, "\(command) died: signal \(run.signal.map(String.init) ?? "-"), timed out \(run.timedOut)")
        #expect(run.status == 1)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("batchwise \(command): "), "\(run.stderr)")
        #expect(run.stderr.contains(file.path) && run.stderr.contains(phrase) && run.stderr.contains("corrupted"), "\(run.stderr)")
    }

    @Test(.timeLimit(.minutes(2)))
    func aFileThatCrashesLibhdf5IsReportedNotFatal() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Case 567: two bytes of the legacy .h5 changed; libhdf5 1.10.8 dies with SIGSEGV both
        // walking the tree (inspect) and loading the model (predict, train).
        let hostile = try Self.mutant(case: 567, baseIndex: 2, fixture: "seed_model.h5", in: folder)

        let unprotected = try Self.batchwise(["inspect", hostile.path, "--no-isolation"])
        #expect(unprotected.signal == SIGSEGV, "the mutant should crash libhdf5 1.10.8 in-process (status \(unprotected.status))")
        let unprotectedPredict = try Self.batchwise(try Self.predictArguments(model: hostile, folder: folder) + ["--no-isolation"])
        #expect(unprotectedPredict.signal == SIGSEGV, "status \(unprotectedPredict.status)")

        Self.expectCleanFailure(try Self.batchwise(["inspect", hostile.path]), command: "inspect", file: hostile, saying: "libhdf5 crashed (signal 11, SIGSEGV)")
        Self.expectCleanFailure(try Self.batchwise(try Self.predictArguments(model: hostile, folder: folder)),
                                command: "predict", file: hostile, saying: "libhdf5 crashed")
        let train = ["train", "--model", hostile.path, "--data", folder.appendingPathComponent("x.h5").path,
                     "--loss", "mean_squared_error", "--optimizer", "sgd", "--save", folder.appendingPathComponent("o.h5").path]
        Self.expectCleanFailure(try Self.batchwise(train), command: "train", file: hostile, saying: "libhdf5 crashed")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("y.h5").path))
    }

    @Test(.timeLimit(.minutes(2)))
    func aFileOnWhichLibhdf5LoopsTimesOut() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Case 587: a corrupted global-heap reference in a vlen string attribute; H5HG_read loops.
        let hostile = try Self.mutant(case: 587, baseIndex: 1, fixture: "seed_model.weights.h5", in: folder)
        let run = try Self.batchwise(["inspect", hostile.path, "--isolation-timeout", "1.5"], deadline: 30)
        Self.expectCleanFailure(run, command: "inspect", file: hostile, saying: "did not finish reading")
    }

    /// Case 2035 (two bit flips in the legacy .h5) crashes libhdf5 in some runs and not in
    /// others (the crash depends on memory layout). Re-reading in the parent after a lucky
    /// probe crashed the CLI in the first 5000-case campaign; the parent must never read it.
    @Test(.timeLimit(.minutes(2)))
    func aCrashThatDependsOnMemoryLayoutNeverReachesTheCommand() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let hostile = try Self.mutant(case: 2035, baseIndex: 2, fixture: "seed_model.h5", in: folder)
        let data = folder.appendingPathComponent("train.h5")
        try HDF5File.atomicWrite(to: data) { file in
            try file.write((0..<8).map { Float($0) / 4 - 1 }, shape: [8, 1], to: "x")
            try file.write((0..<8).map { Float($0 % 2) }, shape: [8, 1], to: "y")
        }
        let train = ["train", "--model", hostile.path, "--data", data.path, "--loss", "binary_crossentropy",
                     "--optimizer", "sgd", "--quiet", "--save", folder.appendingPathComponent("trained.h5").path]
        var endings: [String: Int] = [:]
        for _ in 0..<8 {
            for arguments in [["inspect", hostile.path], try Self.predictArguments(model: hostile, folder: folder), train] {
                let run = try Self.batchwise(arguments)
                #expect(run.signal == nil && !run.timedOut, "\(arguments[0]) died: \(run.stderr.prefix(300))")
                #expect(run.status == 0 || run.stderr.split(separator: "\n").count == 1, "\(run.stderr.prefix(300))")
                endings["\(arguments[0]) \(run.status)", default: 0] += 1
            }
        }
        print("case 2035 through the CLI, 8 runs each: \(endings.sorted { $0.key < $1.key })")
    }

    @Test func predictingFromTheProbesCleanCopyGivesBitIdenticalOutputs() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("in.h5")
        try HDF5File.atomicWrite(to: input) { try $0.write((0..<8).map { Float($0) / 2 - 2 }, shape: [8, 1], to: "x") }
        for fixture in ["seed_model.keras", "seed_model.h5"] {
            var outputs: [[UInt32]] = []
            for extra in [[], ["--no-isolation"]] {
                let output = folder.appendingPathComponent("out-\(fixture)-\(extra.count).h5")
                let run = try Self.batchwise(["predict", "--model", Self.models.appendingPathComponent(fixture).path,
                                              "--input", input.path + ":/x", "--output", output.path + ":/y"] + extra)
                #expect(run.status == 0, "\(run.stderr)")
                outputs.append(try HDF5File.open(at: output).read("y", as: Float.self).values.map(\.bitPattern))
            }
            #expect(outputs[0].count == 8 && outputs[0] == outputs[1], "\(fixture)")
        }
    }

    /// `train` starts from the child's `PreparedStart` copy, never from the user's files: the
    /// copy must carry everything, so isolated and in-process runs end bit for bit alike, both
    /// fine-tuning a `.keras` model and resuming a native checkpoint mid-run.
    @Test(.timeLimit(.minutes(3)))
    func trainingFromTheProbesCleanStartIsBitIdenticalToReadingTheFiles() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func run(_ arguments: [String], isolated: Bool) throws -> LoadedCheckpoint {
            let result = try Self.batchwise(arguments.filter { $0 != "--no-isolation" } + (isolated ? [] : ["--no-isolation"]))
            #expect(result.status == 0, "\(result.stderr)")
            let save = try #require(arguments.firstIndex(of: "--save")).advanced(by: 1)
            return try NativeCheckpoint.load(from: URL(fileURLWithPath: arguments[save]))
        }
        func expectSame(_ runs: [LoadedCheckpoint], _ what: String) {
            #expect(NativeFixtures.bits(runs[0].snapshot.model) == NativeFixtures.bits(runs[1].snapshot.model), "\(what): weights")
            #expect(NativeFixtures.bits(runs[0].snapshot.optimizerState) == NativeFixtures.bits(runs[1].snapshot.optimizerState),
                    "\(what): optimizer state")
            #expect(runs[0].snapshot.optimizerState.iterations == runs[1].snapshot.optimizerState.iterations)
            #expect(runs[0].snapshot.history == runs[1].snapshot.history, "\(what): history")
            #expect(runs[0].snapshot.globalStep == runs[1].snapshot.globalStep && runs[0].snapshot.globalStep > 0)
        }
        let checkpoint = folder.appendingPathComponent("mid-run.h5")
        var fineTuned: [LoadedCheckpoint] = []
        for isolated in [true, false] {
            var arguments = try CrashTests.trainArguments(folder, checkpoint: checkpoint, epochs: 2)
            arguments[try #require(arguments.firstIndex(of: "--save")) + 1] = folder.appendingPathComponent("tuned-\(isolated).h5").path
            fineTuned.append(try run(arguments, isolated: isolated))
        }
        expectSame(fineTuned, "fine-tuning a .keras model")

        // --every 1 left the last step's checkpoint: resume it to 4 epochs both ways.
        var resumed: [LoadedCheckpoint] = []
        for isolated in [true, false] {
            let data = folder.appendingPathComponent("d.h5").path
            resumed.append(try run(["train", "--resume", checkpoint.path, "--data", data, "--x", "/features", "--y", "/labels",
                                    "--batch-size", "16", "--seed", "9", "--epochs", "4", "--quiet",
                                    "--save", folder.appendingPathComponent("resumed-\(isolated).h5").path], isolated: isolated))
        }
        expectSame(resumed, "resuming a native checkpoint")
        #expect(resumed[0].snapshot.epoch == 4)
    }

    @Test func theProbeChangesNothingForAGoodFile() throws {
        for fixture in ["seed_model.keras", "seed_model.weights.h5", "seed_model.h5"] {
            let url = Self.models.appendingPathComponent(fixture)
            let isolated = try Self.batchwise(["inspect", url.path])
            let direct = try Self.batchwise(["inspect", url.path, "--no-isolation"])
            #expect(isolated.status == 0 && direct.status == 0 && isolated.stderr.isEmpty)
            #expect(isolated.stdout == direct.stdout && isolated.stdout.contains("dense"), "\(fixture)")
        }
    }
}
