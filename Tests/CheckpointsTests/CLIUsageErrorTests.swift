import Foundation
import Testing
import CheckpointsTestSupport

/// `batchwise` on missing or wrong files and on option values out of range: a usage error
/// (status 64) or a failure (status 1) with one line naming the file or the flag, no libhdf5
/// error stack, no crash, and no output file.
@Suite(.timeLimit(.minutes(5)))
struct CLIUsageErrorTests {
    private func batchwise(_ arguments: [String]) throws -> ChildProcess {
        try CLIIsolationTests.batchwise(arguments, deadline: 120)
    }

    /// Exit `status`, one stderr line containing every phrase, no signal or libhdf5 text.
    private func expectRefusal(_ run: ChildProcess, status: Int32, _ phrases: [String],
                               sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(run.signal == nil && !run.timedOut, "died: signal \(run.signal.map(String.init) ?? "-")", sourceLocation: sourceLocation)
        #expect(run.status == status, "status \(run.status): \(run.stderr)", sourceLocation: sourceLocation)
        for phrase in phrases { #expect(run.stderr.contains(phrase), "\(run.stderr)", sourceLocation: sourceLocation) }
        #expect(!run.stderr.contains("HDF5-DIAG"), "libhdf5 printed its error stack: \(run.stderr)", sourceLocation: sourceLocation)
        if status == 1 {
            #expect(run.stderr.split(separator: "\n").count == 1, "more than one line: \(run.stderr)", sourceLocation: sourceLocation)
        }
    }

    @Test("inspect on a missing path, a folder and an empty file names the path")
    func inspectNonFiles() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let absent = folder.appendingPathComponent("absent.h5")
        let empty = folder.appendingPathComponent("empty.h5")
        try Data().write(to: empty)
        expectRefusal(try batchwise(["inspect", absent.path]), status: 1, ["batchwise inspect: ", "\(absent.path): no such file"])
        expectRefusal(try batchwise(["inspect", folder.path]), status: 1, ["\(folder.path) is a directory, not an HDF5 file"])
        expectRefusal(try batchwise(["inspect", empty.path]), status: 1, ["\(empty.path) is empty, not an HDF5 file"])
    }

    @Test("train without data or without a starting point is a usage error saying what to give")
    func trainMissingInputs() throws {
        let folder = try DataFileFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let save = folder.appendingPathComponent("out.keras")
        expectRefusal(try batchwise(["train", "--model", folder.appendingPathComponent("m.keras").path, "--save", save.path]),
                      status: 64, ["Missing expected argument '--data <data> ...'"])
        expectRefusal(try batchwise(["train", "--data", folder.appendingPathComponent("d.h5").path, "--save", save.path]), status: 64,
                      ["give --layers SPEC --inputs SHAPE to train a new model, --model FILE to fine-tune or --resume CHECKPOINT to continue"])
        #expect(!FileManager.default.fileExists(atPath: save.path))
    }

    @Test("data-parallel flags out of range, or without data-parallel training, are usage errors")
    func dataParallelFlags() throws {
        let folder = try DataFileFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0, 1, 0, 1, 1, 0, 1, 0])
        let save = folder.appendingPathComponent("out.keras")
        let common = ["train", "--model", folder.appendingPathComponent("m.keras").path, "--data", data.path, "--loss", "binary_crossentropy",
                      "--optimizer", "sgd", "--quiet", "--save", save.path]
        expectRefusal(try batchwise(common + ["--ranks", "0"]), status: 64, ["--ranks must be at least 1, got 0"])
        expectRefusal(try batchwise(common + ["--ranks", "2", "--micro-shards", "0"]), status: 64, ["--micro-shards must be at least 1, got 0"])
        expectRefusal(try batchwise(common + ["--micro-shards", "4"]), status: 64,
                      ["--reduction, --micro-shards and --batch-norm-statistics apply to data-parallel training: run under mpirun or give --ranks N"])
        #expect(!FileManager.default.fileExists(atPath: save.path))
    }

    @Test("predict and experiment refuse counts that are not positive")
    func countsNotPositive() throws {
        let folder = try DataFileFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0])
        let output = folder.appendingPathComponent("p.h5")
        expectRefusal(try batchwise(["predict", "--model", folder.appendingPathComponent("m.keras").path, "--input", data.path + ":/x",
                                     "--output", output.path + ":/p", "--batch-size", "0"]),
                      status: 64, ["--batch-size must be positive, got 0"])
        #expect(!FileManager.default.fileExists(atPath: output.path))
        for (flags, message) in [(["--epochs", "0"], "--epochs must be positive"), (["--steps-per-epoch=-1"], "--steps-per-epoch must be positive"),
                                 (["--batch-size", "0"], "--batch-size must be positive"), (["--shift", "nan"], "--shift must be a finite number")] {
            expectRefusal(try batchwise(["experiment"] + flags), status: 64, [message])
        }
    }

    /// The output name and folder are checked before the first epoch: a long run is not
    /// thrown away at the save (50 epochs here would take far longer than the refusal).
    @Test("train refuses an output of no known format, or in a missing folder, before training")
    func trainOutputBeforeTraining() throws {
        let folder = try DataFileFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0, 1, 0, 1, 1, 0, 1, 0])
        let common = ["train", "--layers", "dense:4:relu,dense:1:sigmoid", "--inputs", "3", "--data", data.path,
                      "--loss", "binary_crossentropy", "--optimizer", "sgd", "--epochs", "50", "--quiet"]
        let onnx = folder.appendingPathComponent("out.onnx")
        expectRefusal(try batchwise(common + ["--save", onnx.path]), status: 1,
                      ["batchwise train: \(onnx.path): cannot tell the format from the name; use .h5 (native checkpoint), .keras or .weights.h5"])
        let nested = folder.appendingPathComponent("absent/out.keras")
        expectRefusal(try batchwise(common + ["--save", nested.path]), status: 1,
                      ["batchwise train: \(nested.path): the folder \(folder.appendingPathComponent("absent").path) does not exist"])
        // With --ranks the launcher refuses it before starting mpirun.
        expectRefusal(try batchwise(common + ["--save", onnx.path, "--ranks", "2"]), status: 1, ["\(onnx.path): cannot tell the format"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).allSatisfy { !$0.hasPrefix("out") })
    }

    /// `--ranks` starts mpirun: without it on PATH, or when this process is already an MPI
    /// rank, that is said before any rank starts.
    @Test("--ranks without mpirun on PATH, or inside an MPI launch, says why")
    func ranksLauncher() throws {
        let folder = try DataFileFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0, 1, 0, 1, 1, 0, 1, 0])
        let save = folder.appendingPathComponent("out.keras")
        let arguments = ["train", "--layers", "dense:1:sigmoid", "--inputs", "3", "--data", data.path, "--loss", "binary_crossentropy",
                         "--optimizer", "sgd", "--quiet", "--save", save.path, "--ranks", "2"]
        let executable = try #require(ChildProcess.built("batchwise"))
        let noMPI = try ChildProcess.run(executable, arguments, deadline: 60, environment: ["PATH": folder.path])
        expectRefusal(noMPI, status: 1, ["--ranks starts Open MPI's mpirun, which is not on PATH"])
        let inside = try ChildProcess.run(executable, arguments, deadline: 60,
                                          environment: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0"])
        expectRefusal(inside, status: 64, ["--ranks starts mpirun itself; under mpirun leave it out (every process is already a rank)"])
        #expect(!FileManager.default.fileExists(atPath: save.path))
    }
}
