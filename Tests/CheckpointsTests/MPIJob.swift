import Foundation
import Testing
import CheckpointsTestSupport

#if os(Linux)
/// `mpirun` started by a test the way CI must run it (DataParallelTrainCLITests.mpiEnvironment:
/// as root, no single-copy mechanism, yielding ranks, one BLAS thread), bounded in time, with
/// Open MPI's message segments and mpirun's session folder in a folder of the run's own,
/// removed afterwards (ranks that mpirun ends after another rank failed leave their segments
/// behind, and mpirun leaves session folders in the temporary directory).
///
/// ```swift
/// let run = try MPIJob.run(["-np", "2", batchwise, "train", ...])
/// ```
enum MPIJob {
    static func run(_ arguments: [String], deadline: Double = 120) throws -> ChildProcess {
        let mpirun = try #require(DataParallelTrainCLITests.mpirun, "mpirun is not installed (make deps installs openmpi-bin)")
        let segments = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-segments-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: segments, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: segments) }
        let environment = DataParallelTrainCLITests.mpiEnvironment.merging(["OMPI_MCA_btl_vader_backing_directory": segments.path,
                                                                                "OMPI_MCA_orte_tmpdir_base": segments.path]) { $1 }
        return try ChildProcess.run(URL(fileURLWithPath: mpirun), arguments, deadline: deadline, captureStandardOutput: true,
                                    environment: environment, tiedToThisProcess: false)
    }

    /// The built `batchwise` executable's path.
    static func batchwise() throws -> String {
        try #require(ChildProcess.built("batchwise"), "build the batchwise executable first").path
    }
}
#endif
