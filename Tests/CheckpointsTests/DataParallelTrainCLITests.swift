import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport
import CProcessControl
#if canImport(Glibc)
import Glibc
#endif

#if os(Linux)
/// Issue 16 item 6 through the executable: `mpirun -np N batchwise train ...` trains
/// data-parallel (the global batch, rank 0's output only), `--reduction ordered` gives the
/// 1-rank model bit for bit on 2 ranks, `batchwise train --ranks N` starts mpirun itself, and a
/// failed or killed rank ends the job with an error naming it and leaves no process behind.
@Suite(.serialized) struct DataParallelTrainCLITests {
    static let mpirun: String? = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
        .map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    /// What CI needs to run Open MPI as root in a container (docs/distributed.md).
    static let mpiEnvironment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                                 "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMPI_MCA_mpi_yield_when_idle": "1",
                                 "OPENBLAS_NUM_THREADS": "1"]

    /// A folder whose unique name is in every command line of a run, with `d.h5`: 96 rows of 4
    /// features and a class label in 0..<3; `nanAtRow` puts a NaN into that row's features.
    func folder(nanAtRow: Int? = nil, _ label: String = #function) throws -> URL {
        let folder = try NativeFixtures.folder(label)
        var x: [Float] = (0..<(96 * 4)).map { index -> Float in Float((index * 37) % 101) / 50 - 1 }
        if let nanAtRow { x[nanAtRow * 4 + 1] = Float.nan }
        let y: [Float] = (0..<96).map { row -> Float in Float((row * 7) % 3) }
        try HDF5File.atomicWrite(to: folder.appendingPathComponent("d.h5")) { file in
            try file.write(x, shape: [96, 4], to: "/x")
            try file.write(y, shape: [96], to: "/y")
        }
        return folder
    }

    /// `train` arguments for a BN-MLP on `folder`'s data, saving to `save`.
    private func trainArguments(_ folder: URL, save: String, extra: [String] = []) -> [String] {
        ["train", "--layers", "dense:8:relu,batch_normalization,dense:3:softmax", "--inputs", "4",
         "--data", folder.appendingPathComponent("d.h5").path, "--loss", "sparse_categorical_crossentropy",
         "--optimizer", "adam", "--seed", "3", "--batch-size", "32", "--epochs", "2",
         "--save", folder.appendingPathComponent(save).path] + extra
    }

    private func batchwise(_ arguments: [String], environment: [String: String] = [:]) throws -> ChildProcess {
        try CLIIsolationTests.batchwise(arguments, deadline: 120, environment: environment)
    }

    /// The single-copy mechanism `--ranks` picks in this test's environment: the environment's
    /// if it sets one, else `cma` when the cross-memory attach probe passes here, else `none`.
    private static var expectedSingleCopy: String {
        ProcessInfo.processInfo.environment["OMPI_MCA_btl_vader_single_copy_mechanism"]
            ?? (bw_probe_cross_memory_attach(0) == 0 ? "cma" : "none")
    }

    /// `mpirun -np ranks batchwise ARGUMENTS`, not tied to this process (the ranks tie themselves to mpirun).
    /// `checkpoint` with its position settings edited by `edit`, saved as `<name>.h5` in
    /// `folder` and resumed on one rank under mpirun (global batch 32): the edited file and the
    /// lines of stderr refusing it for its data-parallel settings (empty if it exited 0).
    private func refusedResume(of checkpoint: URL, in folder: URL, as name: String,
                               _ edit: (inout [String: String]) -> Void) throws -> (file: URL, refusals: [String]) {
        var loaded = try NativeCheckpoint.load(from: checkpoint)
        edit(&loaded.snapshot.positionSettings)
        let file = folder.appendingPathComponent("\(name).h5")
        try NativeCheckpoint.save(loaded.snapshot, optimizer: loaded.optimizer, to: file, loss: loaded.loss,
                                  architecture: loaded.architecture)
        let run = try underMPI(ranks: 1, ["train", "--resume", file.path, "--data", folder.appendingPathComponent("d.h5").path,
                                          "--seed", "3", "--batch-size", "32", "--epochs", "2",
                                          "--save", folder.appendingPathComponent("\(name).keras").path])
        guard run.status != 0 else { return (file, []) }
        return (file, run.stderr.split(separator: "\n").filter { $0.contains("other data-parallel settings") }.map(String.init))
    }

    private func underMPI(ranks: Int, _ arguments: [String]) throws -> ChildProcess {
        let batchwise = try #require(ChildProcess.built("batchwise"), "build the batchwise executable first")
        return try mpirun(["-np", String(ranks), batchwise.path] + arguments, captureStandardOutput: true)
    }

    /// `mpirun ARGUMENTS` with the tests' settings and Open MPI's message segments (and
    /// mpirun's session folder) in a folder of the run's own, removed afterwards: ranks that end
    /// after another rank failed leave theirs behind (in /dev/shm by default).
    private func mpirun(_ arguments: [String], captureStandardOutput: Bool = false) throws -> ChildProcess {
        let mpirun = try #require(Self.mpirun, "mpirun is not installed (make deps installs openmpi-bin)")
        let segments = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-segments-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: segments, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: segments) }
        return try ChildProcess.run(URL(fileURLWithPath: mpirun), arguments, deadline: 120, captureStandardOutput: captureStandardOutput,
                                    environment: Self.mpiEnvironment.merging(["OMPI_MCA_btl_vader_backing_directory": segments.path,
                                                                             "OMPI_MCA_orte_tmpdir_base": segments.path]) { $1 },
                                    tiedToThisProcess: false)
    }

    private func digest(_ run: ChildProcess) -> [String] {
        run.stdout.split(separator: "\n").filter { $0.hasPrefix("weights sha256: ") }.map { String($0.dropFirst(16)) }
    }

    func expectNothingLeft(_ folder: URL) {
        let left = ProcessLifetimeTests.livingProcesses(mentioning: folder.path)
        #expect(left.isEmpty, "processes outlived the run: \(left)")
    }

    @Test(.timeLimit(.minutes(5)))
    func twoRanksOrderedTrainTheOneRankModelBitwiseAndRanksStartsMpirun() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let one = try underMPI(ranks: 1, trainArguments(folder, save: "one.keras"))
        #expect(one.status == 0, "\(one.stderr)")
        let two = try underMPI(ranks: 2, trainArguments(folder, save: "two.keras", extra: ["--reduction", "ordered"]))
        #expect(two.status == 0, "\(two.stderr)")
        // Rank 0 alone prints: one digest, one line per epoch.
        #expect(digest(one).count == 1 && digest(two) == digest(one), "\(one.stdout)\n\(two.stdout)")
        #expect(two.stdout.components(separatedBy: "Epoch 1/2:").count == 2, "\(two.stdout)")
        #expect(two.stdout.contains("on 2 ranks"), "\(two.stdout)")
        // Each epoch's line ends with the training accuracy, the same value on 1 and 2 ranks (ordered mode).
        let accuracies = { (run: ChildProcess) in
            run.stdout.split(separator: "\n").filter { $0.hasPrefix("Epoch ") }.map { $0.components(separatedBy: " - accuracy: ").last ?? "" }
        }
        #expect(accuracies(two).count == 2 && accuracies(two).allSatisfy { Double($0).map { $0 >= 0 && $0 <= 1 } ?? false },
                "\(two.stdout)")
        #expect(accuracies(two) == accuracies(one), "\(one.stdout)\n\(two.stdout)")

        // Segment directories of launchers killed with SIGKILL: the next launch removes those
        // whose pid is gone and that are over an hour old, and keeps the others.
        let dead = Self.exitedPID(), stale = "/dev/shm/batchwise-mpi-\(dead)-stale\(getpid())"
        let recent = "/dev/shm/batchwise-mpi-\(dead)-recent\(getpid())", living = "/dev/shm/batchwise-mpi-1-living\(getpid())"
        for path in [stale, recent, living] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        defer { for path in [stale, recent, living] { try? FileManager.default.removeItem(atPath: path) } }
        for path in [stale, living] {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7_200)], ofItemAtPath: path)
        }

        let midway = folder.appendingPathComponent("midway.h5")
        let launched = try batchwise(trainArguments(folder, save: "ranks.h5",
                                                    extra: ["--ranks", "2", "--checkpoint", midway.path, "--every", "4"]))
        #expect(launched.status == 0, "\(launched.stderr)")
        #expect(launched.stdout.contains("batchwise train: running ") && launched.stdout.contains(" -np 2 ")
                && launched.stdout.contains("OPENBLAS_NUM_THREADS=1")
                && launched.stdout.contains("OMPI_MCA_btl_vader_single_copy_mechanism=\(Self.expectedSingleCopy) "), "\(launched.stdout)")
        #expect(digest(launched) == digest(one), "\(launched.stdout)")
        #expect(!FileManager.default.fileExists(atPath: stale) && FileManager.default.fileExists(atPath: recent)
                && FileManager.default.fileExists(atPath: living))
        let segments = launched.stdout.split(separator: "\n").first { $0.hasPrefix("batchwise train: shared-memory segments in /dev/shm/batchwise-mpi-") }
        #expect(segments != nil && !FileManager.default.fileExists(atPath: String(segments!.split(separator: " ")[5])), "\(launched.stdout)")
        let checkpoint = try NativeCheckpoint.load(from: folder.appendingPathComponent("ranks.h5"))
        #expect(checkpoint.snapshot.epoch == 2 && checkpoint.snapshot.globalStep == 6)
        // Written by 2 ranks after step 4 (epoch 1, step 1), resumed on 1 rank: the same model.
        let resumed = try underMPI(ranks: 1, ["train", "--resume", midway.path, "--data", folder.appendingPathComponent("d.h5").path,
                                              "--seed", "3", "--batch-size", "32", "--epochs", "2",
                                              "--save", folder.appendingPathComponent("resumed.keras").path])
        #expect(resumed.status == 0 && digest(resumed) == digest(one), "\(resumed.stderr)\n\(resumed.stdout)")
        // On other data-parallel settings (a global batch of 16 and 4 micro-shards): refused once,
        // naming the file, both values and the options that give the recorded ones, before
        // anything is written, not continued at step 1 of other rows.
        let other = try underMPI(ranks: 2, ["train", "--resume", midway.path, "--data", folder.appendingPathComponent("d.h5").path,
                                            "--seed", "3", "--batch-size", "16", "--micro-shards", "4", "--epochs", "2",
                                            "--save", folder.appendingPathComponent("other.keras").path])
        let refusals = other.stderr.split(separator: "\n").filter { $0.contains("the checkpoint was written with other data-parallel settings") }
        #expect(other.status != 0 && refusals == ["batchwise train: \(midway.path): the checkpoint was written with other data-parallel "
            + "settings: global batch size 32 (this run: 16), micro-shard count 8 (this run: 4); resume with --batch-size 32, "
            + "--micro-shards 8, or start a new run from its weights with --model"], "\(other.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("other.keras").path))
        // A checkpoint recording another reduction mode and a setting this version does not know
        // (edited here): both named, with the option that gives the recorded mode.
        let (foreign, newer) = try refusedResume(of: midway, in: folder, as: "foreign") {
            $0["reduction"] = "fast"
            $0["gradient_accumulation"] = "2"
        }
        #expect(newer == ["batchwise train: \(foreign.path): the checkpoint was written with other data-parallel settings: "
            + "reduction mode fast (this run: ordered); resume with --reduction fast; it records settings this version does not "
            + "know (gradient_accumulation): resume it with the version that wrote it, or start a new run from its weights with --model"])
        // One setting missing from a checkpoint that records the others: named as "none", with no
        // option to give for it.
        let (incomplete, missing) = try refusedResume(of: midway, in: folder, as: "incomplete") { $0["micro_shards"] = nil }
        #expect(missing == ["batchwise train: \(incomplete.path): the checkpoint was written with other data-parallel settings: "
            + "micro-shard count none (this run: 8), or start a new run from its weights with --model"])
        // A single process cannot continue it mid-epoch (no pipeline state): refused, not restarted.
        let alone = try batchwise(["train", "--resume", midway.path, "--data", folder.appendingPathComponent("d.h5").path,
                                   "--epochs", "2", "--save", folder.appendingPathComponent("alone.keras").path])
        #expect(alone.status == 1 && alone.stderr.contains("written by data-parallel training in epoch 1, step 1")
                && alone.stderr.hasSuffix("(--resume)\n"), "\(alone.stderr)")

        // fast: other last bits, the same model within rounding.
        let fast = try underMPI(ranks: 2, trainArguments(folder, save: "fast.keras", extra: ["--reduction", "fast"]))
        #expect(fast.status == 0, "\(fast.stderr)")
        let (ordered, quick) = (try KerasModelFile.load(folder.appendingPathComponent("two.keras")).model,
                                try KerasModelFile.load(folder.appendingPathComponent("fast.keras")).model)
        for (a, b) in zip(ordered.variables, quick.variables) {
            let difference = zip(a.value.scalars, b.value.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(difference <= 1e-4, "\(a.name): \(difference)")
        }
        expectNothingLeft(folder)
    }

    /// `--batch-norm-statistics`: `per-layer` follows each layer's flag, and `batch_normalization`
    /// in `--layers` has Keras's default `synchronized: false`, so 2 ranks train bitwise the
    /// `ghost-batch` model, not the default synchronized one. Without mpirun the option is refused.
    @Test(.timeLimit(.minutes(3)))
    func batchNormStatisticsPerLayerFollowsTheLayersFlag() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let synchronized = try underMPI(ranks: 2, trainArguments(folder, save: "s.keras"))
        let ghost = try underMPI(ranks: 2, trainArguments(folder, save: "g.keras", extra: ["--batch-norm-statistics", "ghost-batch"]))
        let perLayer = try underMPI(ranks: 2, trainArguments(folder, save: "p.keras", extra: ["--batch-norm-statistics", "per-layer"]))
        for run in [synchronized, ghost, perLayer] { #expect(run.status == 0, "\(run.stderr)") }
        #expect(digest(perLayer).count == 1 && digest(perLayer) == digest(ghost), "\(perLayer.stdout)\n\(ghost.stdout)")
        #expect(digest(synchronized).count == 1 && digest(synchronized) != digest(ghost), "\(synchronized.stdout)")
        let alone = try batchwise(trainArguments(folder, save: "a.keras", extra: ["--batch-norm-statistics", "per-layer"]))
        #expect(alone.status != 0 && alone.stderr.contains("--batch-norm-statistics apply to data-parallel training"), "\(alone.stderr)")
        expectNothingLeft(folder)
    }

    @Test(.timeLimit(.minutes(3)))
    func aRankThatCannotReadItsRowsFailsTheJobNamingIt() throws {
        // 96 rows in one global batch, file order: rank 1 reads rows 48..<96.
        let folder = try folder(nanAtRow: 70)
        defer { try? FileManager.default.removeItem(at: folder) }
        // The user's single-copy mechanism is used and shown, never overridden by the probe's choice.
        let run = try batchwise(trainArguments(folder, save: "out.keras", extra: ["--ranks", "2", "--no-shuffle", "--batch-size", "96"]),
                                environment: ["OMPI_MCA_btl_vader_single_copy_mechanism": "none"])
        #expect(run.status != 0 && run.signal == nil && !run.timedOut)
        #expect(run.stdout.contains("batchwise train: running OMPI_MCA_btl_vader_single_copy_mechanism=none "), "\(run.stdout)")
        let last = run.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix("batchwise train: the job on 2 ranks ended with status") && last.hasSuffix("rank 1 failed"), "\(run.stderr)")
        #expect(run.stderr.contains("rank 1 failed in epoch 0, step 0:") && run.stderr.contains("row 70"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.keras").path))
        expectNothingLeft(folder)

        let alone = try batchwise(trainArguments(folder, save: "out.keras", extra: ["--reduction", "fast"]))
        #expect(alone.status != 0 && alone.stderr.contains("mpirun"), "\(alone.stderr)")
        // Settings the trainer cannot honour are refused once, before mpirun starts.
        let buffered = try batchwise(trainArguments(folder, save: "out.keras", extra: ["--ranks", "2", "--shuffle-buffer", "10"]))
        #expect(buffered.status == 1 && !buffered.stdout.contains("running"), "\(buffered.stdout)")
        #expect(buffered.stderr == "batchwise train: data-parallel training shuffles all rows or none; a buffered shuffle of 10 rows "
                + "is not supported (--shuffle-buffer)\n", "\(buffered.stderr)")
    }

    /// Issue 16 item 7: an error every rank has alike (a missing data file, a loss that
    /// overflows) is written once, by rank 0, naming all ranks; an error of one rank only (its
    /// data file is missing) is written once, naming that rank. Exit statuses stay non-zero.
    @Test(.timeLimit(.minutes(4)))
    func anErrorOfEveryRankIsWrittenOnceAndOneRanksOwnErrorNamesIt() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("missing.h5").path
        func lines(_ run: ChildProcess, mentioning text: String) -> [String] {
            run.stderr.split(separator: "\n").map(String.init).filter { $0.contains(text) }
        }
        var arguments = trainArguments(folder, save: "out.keras")
        arguments[arguments.firstIndex(of: "--data")! + 1] = missing
        let shared = try underMPI(ranks: 2, arguments)
        #expect(shared.status != 0 && !shared.timedOut)
        let sharedLines = lines(shared, mentioning: "missing.h5")
        #expect(sharedLines.count == 1 && sharedLines.first?.hasPrefix("batchwise train: ranks 0, 1 failed: ") == true,
                "\(shared.stderr)")

        // Through the launcher: the same one line, and its last line names both ranks.
        let launched = try batchwise(arguments + ["--ranks", "2"])
        #expect(launched.status != 0 && !launched.timedOut)
        #expect(lines(launched, mentioning: "missing.h5").count == 1, "\(launched.stderr)")
        #expect(launched.stderr.split(separator: "\n").last?.hasSuffix(": ranks 0, 1 failed") == true, "\(launched.stderr)")

        // Rank 1 alone lacks its file (mpirun's MPMD form gives each rank its own command line).
        let executable = try #require(ChildProcess.built("batchwise")).path
        let own = try mpirun(["-np", "1", executable] + trainArguments(folder, save: "own.keras") + [":", "-np", "1", executable] + arguments)
        #expect(own.status != 0 && !own.timedOut)
        let ownLines = lines(own, mentioning: "missing.h5")
        #expect(ownLines.count == 1 && ownLines.first?.hasPrefix("batchwise train: rank 1 failed: ") == true, "\(own.stderr)")

        // A loss that overflows to infinity stops every rank at the same step: one line.
        let huge = folder.appendingPathComponent("huge.h5")
        try HDF5File.atomicWrite(to: huge) { file in
            try file.write([Float](repeating: 1e30, count: 64 * 4), shape: [64, 4], to: "/x")
            try file.write([Float](repeating: 1, count: 64), shape: [64, 1], to: "/y")
        }
        let overflow = try underMPI(ranks: 2, ["train", "--layers", "dense:1", "--inputs", "4", "--data", huge.path,
                                                "--loss", "mean_squared_error", "--optimizer", "sgd", "--seed", "3", "--batch-size", "32", "--epochs", "1",
                                                "--save", folder.appendingPathComponent("huge.keras").path])
        #expect(overflow.status != 0 && !overflow.timedOut)
        let overflowLines = lines(overflow, mentioning: "loss became")
        #expect(overflowLines.count == 1 && overflowLines.first?.hasPrefix("batchwise train: ranks 0, 1 failed: ") == true,
                "\(overflow.stderr)")
        expectNothingLeft(folder)
    }

    /// Starts `batchwise train --ranks 2` for very many epochs in the background, waits until
    /// training runs (rank 0 wrote a checkpoint) and `target()` names a process, sends it
    /// `signal`, and returns the run once it ended.
    private func interruptedRun(_ folder: URL, signal: Int32, target: @escaping () -> pid_t?) throws -> ChildProcess {
        let checkpoint = folder.appendingPathComponent("run.h5")
        let arguments = trainArguments(folder, save: "out.h5", extra: [
            "--ranks", "2", "--epochs", "100000", "--checkpoint", checkpoint.path, "--every", "1", "--no-checkpoint-fsync"])
        let result = LockedResult()
        let finished = DispatchGroup()
        DispatchQueue.global().async(group: finished) { result.set(Result { try self.batchwise(arguments) }) }
        var victim: pid_t?
        #expect(ProcessLifetimeTests.eventually(within: 60) {
            guard FileManager.default.fileExists(atPath: checkpoint.path) else { return false }
            victim = target()
            return victim != nil
        })
        if let victim { kill(victim, signal) }
        finished.wait()
        let run = try #require(try result.value?.get())
        #expect(run.status != 0 && !run.timedOut, "\(run.stderr)")
        return run
    }

    @Test(.timeLimit(.minutes(3)))
    func aKilledRankEndsTheJobNamingItAndNothingIsLeft() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var segments: (directory: String, files: [String])?
        let run = try interruptedRun(folder, signal: SIGKILL) {
            guard let victim = Self.rank(1, mentioning: folder.path) else { return nil }
            segments = Self.segmentDirectory(of: victim).map { ($0, (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? []) }
            return victim
        }
        #expect(run.stderr.split(separator: "\n").last?.hasSuffix("rank 1 failed") == true, "\(run.stderr)")
        expectNothingLeft(folder)
        // The ranks kept their shared-memory segments in the launcher's directory (the killed
        // rank's could not be removed by Open MPI), and the launcher removed it after the job.
        let (directory, files) = try #require(segments, "rank 1 had no OMPI_MCA_btl_vader_backing_directory")
        #expect(directory.hasPrefix("/dev/shm/batchwise-mpi-") && files.contains { $0.hasPrefix("vader_segment.") }, "\(directory): \(files)")
        #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) outlived the job")
        #expect(run.stdout.contains("shared-memory segments in \(directory)"), "\(run.stdout)")
        // The last checkpoint loads.
        #expect(try NativeCheckpoint.load(from: folder.appendingPathComponent("run.h5")).snapshot.globalStep >= 1)
    }

    @Test(.timeLimit(.minutes(3)), arguments: [SIGTERM, SIGKILL])
    func aSignalledLauncherLeavesNoRankBehind(signal: Int32) throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // The launcher is the one process with --ranks on its command line.
        var segments: String?
        let run = try interruptedRun(folder, signal: signal) {
            segments = Self.rank(0, mentioning: folder.path).flatMap(Self.segmentDirectory(of:))
            return Self.processes(mentioning: folder.path).first { $0.commandLine.contains("--ranks") }?.pid
        }
        let directory = try #require(segments, "rank 0 had no OMPI_MCA_btl_vader_backing_directory")
        // Killed with SIGKILL, the launcher cannot remove it (a later launch does, after an hour).
        if signal == SIGKILL { try? FileManager.default.removeItem(atPath: directory) }
        #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) outlived the job")
        if signal == SIGTERM {
            // Forwarded to mpirun, which ends the ranks; the launcher reports the job's end.
            #expect(run.signal == nil && run.stderr.contains("batchwise train: the job on 2 ranks ended with status"), "\(run.stderr)")
        }
        // mpirun dies with the launcher and the ranks with mpirun (PR_SET_PDEATHSIG): wait for that event.
        #expect(ProcessLifetimeTests.eventually(within: 30) { ProcessLifetimeTests.livingProcesses(mentioning: folder.path).isEmpty },
                "\(ProcessLifetimeTests.livingProcesses(mentioning: folder.path))")
    }

    /// Living processes whose command line mentions `text`, with their command lines.
    static func processes(mentioning text: String) -> [(pid: pid_t, commandLine: String)] {
        ProcessLifetimeTests.livingProcesses(mentioning: text).compactMap { entry in
            guard let pid = entry.split(separator: " ").first.flatMap({ pid_t($0) }),
                  let bytes = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            return (pid, String(decoding: bytes.map { $0 == 0 ? 32 : $0 }, as: UTF8.self))
        }
    }

    /// The pid of a child that has ended and been reaped: a pid no process has (until reused).
    static func exitedPID() -> pid_t {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try? child.run()
        child.waitUntilExit()
        return child.processIdentifier
    }

    /// The shared-memory segment directory Open MPI was told to use in process `pid`.
    static func segmentDirectory(of pid: pid_t) -> String? {
        guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return nil }
        let prefix = "OMPI_MCA_btl_vader_backing_directory="
        return environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            .first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    /// The process of rank `rank` among those whose command line mentions `text`.
    static func rank(_ rank: Int, mentioning text: String) -> pid_t? {
        ProcessLifetimeTests.livingProcesses(mentioning: text).compactMap { entry -> pid_t? in
            guard let pid = entry.split(separator: " ").first.flatMap({ pid_t($0) }),
                  let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return nil }
            let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") ? pid : nil
        }.first
    }
}

private final class LockedResult: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Result<ChildProcess, any Error>?
    func set(_ value: Result<ChildProcess, any Error>) { lock.withLock { stored = value } }
    var value: Result<ChildProcess, any Error>? { lock.withLock { stored } }
}
#endif
