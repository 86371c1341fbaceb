import Foundation
import Testing
import CheckpointsTestSupport
#if canImport(Glibc)
import Glibc
#endif

#if os(Linux)
/// `batchwise train --ranks N` first removes the segment directories (`/dev/shm/batchwise-mpi-<pid>-…`)
/// of launchers killed with SIGKILL, as the probe's sweep does its folders (StaleFolderSweep):
/// only old ones of dead pids, never a live pid's, a fresh one or a foreign name. Then it
/// gives `mpirun` a directory of its own and removes it when `mpirun` has ended. A stand-in
/// `mpirun` on PATH checks that directory, so no MPI job runs.
@Suite(.timeLimit(.minutes(3)))
struct CLISegmentDirectorySweepTests {
    /// An `mpirun` that succeeds only if both segment settings and the session folder's base
    /// name one existing directory.
    private static let standIn = """
        #!/bin/sh
        d="$OMPI_MCA_btl_vader_backing_directory"
        if [ -n "$d" ] && [ -d "$d" ] && [ "$d" = "$OMPI_MCA_osc_sm_backing_directory" ] && [ "$d" = "$OMPI_MCA_orte_tmpdir_base" ]; then
          echo "stand-in mpirun: segments in $d"; exit 0
        fi
        echo "stand-in mpirun: no segment directory ($d)" >&2; exit 3
        """

    @Test func theLauncherRemovesOldSegmentDirectoriesOfDeadLaunchersOnly() throws {
        let inherited = ProcessInfo.processInfo.environment
        try #require(inherited["OMPI_MCA_btl_vader_backing_directory"] == nil && inherited["OMPI_MCA_osc_sm_backing_directory"] == nil
                     && inherited["OMPI_MCA_orte_tmpdir_base"] == nil,
                     "the test's environment chooses the segment directory itself")
        let folder = try DataFileFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let mpirun = folder.appendingPathComponent("mpirun")
        try Data(Self.standIn.utf8).write(to: mpirun)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: mpirun.path)
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0, 1, 0, 1, 1, 0, 1, 0])

        let dead = try StaleTemporaryPID.dead(), unique = UUID().uuidString
        let old = Date().addingTimeInterval(-2 * 3_600)
        let folders: [(name: String, modified: Date, removed: Bool)] = [
            ("batchwise-mpi-\(dead)-\(unique)A", old, true),          // killed launcher's
            ("batchwise-mpi-\(dead)-\(unique)B", Date(), false),      // too recent: maybe another container's
            ("batchwise-mpi-\(getpid())-\(unique)C", old, false),     // owner alive
            ("batchwise-mpi-notapid-\(unique)D", old, false),         // not our naming
            ("batchwise-mpi-\(dead)\(unique)E", old, false),          // no dash after the pid
            ("other-batchwise-mpi-\(dead)-\(unique)F", old, false),   // not ours at all
        ]
        let shm = URL(fileURLWithPath: "/dev/shm")
        defer { for entry in folders { try? FileManager.default.removeItem(at: shm.appendingPathComponent(entry.name)) } }
        for entry in folders {
            let url = shm.appendingPathComponent(entry.name)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try Data([1]).write(to: url.appendingPathComponent("vader_segment.left"))
            try FileManager.default.setAttributes([.modificationDate: entry.modified], ofItemAtPath: url.path)
        }

        let executable = try #require(ChildProcess.built("batchwise"))
        let run = try ChildProcess.run(executable, ["train", "--layers", "dense:1:sigmoid", "--inputs", "3", "--data", data.path,
                                                    "--loss", "binary_crossentropy", "--optimizer", "sgd", "--quiet",
                                                    "--save", folder.appendingPathComponent("out.keras").path, "--ranks", "2"],
                                       deadline: 60, captureStandardOutput: true,
                                       environment: ["PATH": folder.path + ":" + (inherited["PATH"] ?? "/usr/bin:/bin")])
        #expect(run.status == 0 && run.signal == nil, "\(run.stderr)\n\(run.stdout)")
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: shm.path)).filter { $0.contains(unique) }
        #expect(left == Set(folders.filter { !$0.removed }.map(\.name)), "only the old folder of a dead launcher goes")

        // The job's own directory existed while the stand-in ran, and is gone now.
        let line = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("stand-in mpirun: segments in ") }, "\(run.stdout)")
        let own = String(line.dropFirst("stand-in mpirun: segments in ".count))
        #expect(own.hasPrefix("/dev/shm/batchwise-mpi-"), "\(own)")
        #expect(!FileManager.default.fileExists(atPath: own), "\(own) outlived the job")
    }
}
#endif
