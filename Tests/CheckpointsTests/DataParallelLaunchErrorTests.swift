import Foundation
import Testing
import CheckpointsTestSupport

#if os(Linux)
/// `batchwise train` refusing a data-parallel launch it cannot honour: a negative `--ranks`, an
/// unknown `--reduction` or `--batch-norm-statistics` (CLIUsageErrorTests has `--ranks` without
/// mpirun on `PATH` and inside an MPI launch), and Open MPI's launch variables that MPI itself
/// contradicts. Each is one message naming the flag or the variable, before any rank trains
/// (no "running" line, no output file, no process left). And `PATH=/bin` on a merged-/usr
/// system, where `/bin/mpirun` made Open MPI take `/` as its prefix and abort, now runs the job.
@Suite(.serialized) struct DataParallelLaunchErrorTests {
    /// A folder whose unique name is in every command line of a run, with `d.h5`: 64 rows of 4
    /// features and a class label in 0..<3.
    static func folder(_ label: String = #function) throws -> URL {
        let folder = try NativeFixtures.folder(label)
        try DataParallelTestData.write(to: folder.appendingPathComponent("d.h5"), rows: 64)
        return folder
    }

    static func trainArguments(_ folder: URL, extra: [String]) -> [String] {
        ["train", "--layers", "dense:8:relu,dense:3:softmax", "--inputs", "4", "--data", folder.appendingPathComponent("d.h5").path,
         "--loss", "sparse_categorical_crossentropy", "--optimizer", "adam", "--seed", "3", "--batch-size", "32", "--epochs", "1",
         "--save", folder.appendingPathComponent("out.keras").path] + extra
    }

    /// The run was refused before mpirun started: `status`, every phrase on stderr, nothing
    /// launched or written, no process of the run left.
    static func expectRefusedBeforeLaunch(_ run: ChildProcess, status: Int32, _ phrases: [String], folder: URL,
                                          sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(run.signal == nil && !run.timedOut && run.status == status, "status \(run.status): \(run.stderr)",
                sourceLocation: sourceLocation)
        for phrase in phrases { #expect(run.stderr.contains(phrase), "\(run.stderr)", sourceLocation: sourceLocation) }
        #expect(!run.stdout.contains("running"), "mpirun was started: \(run.stdout)", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.keras").path), sourceLocation: sourceLocation)
        let left = ProcessLifetimeTests.livingProcesses(mentioning: folder.path)
        #expect(left.isEmpty, "processes outlived the run: \(left)", sourceLocation: sourceLocation)
    }

    private func batchwise(_ arguments: [String], environment: [String: String] = [:]) throws -> ChildProcess {
        try CLIIsolationTests.batchwise(arguments, deadline: 120,
                                        environment: DataParallelTrainCLITests.mpiEnvironment.merging(environment) { $1 })
    }

    @Test(.timeLimit(.minutes(2)))
    func settingsOutOfRangeAreUsageErrorsNamingTheFlag() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        Self.expectRefusedBeforeLaunch(try batchwise(Self.trainArguments(folder, extra: ["--ranks=-1"])), status: 64,
                                       ["--ranks must be at least 1, got -1"], folder: folder)
        Self.expectRefusedBeforeLaunch(try batchwise(Self.trainArguments(folder, extra: ["--ranks", "2", "--reduction", "sorted"])),
                                       status: 64, ["'sorted' is invalid for '--reduction <ordered|fast>'", "'ordered' and 'fast'"],
                                       folder: folder)
        Self.expectRefusedBeforeLaunch(
            try batchwise(Self.trainArguments(folder, extra: ["--ranks", "2", "--batch-norm-statistics", "global"])), status: 64,
            ["'global' is invalid for '--batch-norm-statistics <synchronized|ghost-batch|per-layer>'"], folder: folder)
    }

    /// Open MPI's launch variables left in the environment of a process that mpirun did not
    /// start: the process trains as a rank, and MPI (initialised alone, a world of one)
    /// contradicts the announced size. One line names the variable and both sizes.
    @Test(.timeLimit(.minutes(2)))
    func aLaunchEnvironmentThatMPIContradictsIsNamed() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // MPI_Init without mpirun makes a singleton's session folder: keep it in the test's folder.
        let run = try batchwise(Self.trainArguments(folder, extra: []), environment: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0",
                                                                                      "OMPI_MCA_orte_tmpdir_base": folder.path])
        Self.expectRefusedBeforeLaunch(run, status: 1, [], folder: folder)
        #expect(run.stderr == "batchwise train: rank 0 failed: the MPI launch is inconsistent: OMPI_COMM_WORLD_SIZE=2: "
                + "MPI_Comm_size reports 1\n", "\(run.stderr)")
        #expect(ProcessLifetimeTests.eventually(within: 30) { ProcessLifetimeTests.livingProcesses(mentioning: folder.path).isEmpty })
    }

    /// Open MPI takes an absolute mpirun path's folder above `bin` as its installation prefix;
    /// for `/bin/mpirun` that is `/`, and mpirun aborts. The launcher resolves the folder's
    /// links, so `PATH=/bin` (a link to `usr/bin` on merged-/usr systems) runs the job.
    @Test(.timeLimit(.minutes(3)))
    func aPathThroughALinkedBinFolderStillLaunches() throws {
        let linked = URL(fileURLWithPath: "/bin").resolvingSymlinksInPath().path
        guard linked != "/bin", let mpirun = DataParallelTrainCLITests.mpirun,
              URL(fileURLWithPath: mpirun).deletingLastPathComponent().resolvingSymlinksInPath().path == linked else {
            return  // /bin is a folder of its own here, or mpirun is elsewhere: nothing to check.
        }
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try batchwise(Self.trainArguments(folder, extra: ["--ranks", "2"]), environment: ["PATH": "/bin"])
        #expect(run.status == 0 && !run.timedOut, "\(run.stderr)")
        #expect(run.stdout.contains(" \(linked)/mpirun ") && run.stdout.contains("weights sha256: "), "\(run.stdout)")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.keras").path))
        #expect(ProcessLifetimeTests.eventually(within: 30) { ProcessLifetimeTests.livingProcesses(mentioning: folder.path).isEmpty })
    }
}
#endif
