import Foundation
import HDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory of the job's own for Open MPI's shared-memory segments.
///
/// Open MPI 4.1 maps each rank's message segment (`vader_segment.<host>.<job>.<rank>`, 4 MiB)
/// from a file in `/dev/shm` and removes it in `MPI_Finalize`: a rank that is killed, or that
/// `mpirun` ends after another rank failed, leaves its file behind, and memory-backed files add
/// up over failed jobs until the machine restarts. The launcher points both segment settings
/// (`btl_vader_backing_directory` for messages, `osc_sm_backing_directory` for the
/// shared-memory windows) at a fresh directory and removes it once `mpirun` has ended, however
/// the job ended. `mpirun`'s session folder (`orte_tmpdir_base`: `ompi.<host>.<uid>/pid.<n>`,
/// which `mpirun` removes only when it exits normally) goes into the same directory, so a
/// killed job leaves nothing in the temporary directory either. A setting the environment gives
/// is left alone (and nothing is created for it).
/// Only a launcher killed with SIGKILL cannot remove its directory: the name carries its pid,
/// and the next launch on the machine removes such directories (``removeStale(in:minimumAge:now:)``).
struct SegmentDirectory {
    static let variables = ["OMPI_MCA_btl_vader_backing_directory", "OMPI_MCA_osc_sm_backing_directory",
                            "OMPI_MCA_orte_tmpdir_base"]

    /// The directory, or nil when the environment sets every one of ``variables``.
    let path: String?

    static let prefix = "batchwise-mpi-"

    /// Creates `batchwise-mpi-<pid>-XXXXXX` in `/dev/shm` (memory, as Open MPI's default), or in the
    /// temporary directory where `/dev/shm` does not exist (macOS).
    init(environment: [String: String], parent: String? = nil) throws {
        guard Self.variables.contains(where: { environment[$0] == nil }) else {
            path = nil
            return
        }
        var isDirectory: ObjCBool = false
        let base = parent ?? (FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory) && isDirectory.boolValue
            ? "/dev/shm" : NSTemporaryDirectory())
        Self.removeStale(in: URL(fileURLWithPath: base))
        var template = Array((URL(fileURLWithPath: base).appendingPathComponent("\(Self.prefix)\(getpid())-XXXXXX").path).utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CommandError("cannot create a directory for Open MPI's shared-memory segments in \(base): \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    /// The variables the environment does not set, pointed at the directory.
    func settings(environment: [String: String]) -> [String: String] {
        guard let path else { return [:] }
        return Dictionary(uniqueKeysWithValues: Self.variables.filter { environment[$0] == nil }.map { ($0, path) })
    }

    /// Removes the directory and whatever segments the ranks left in it.
    func remove() {
        if let path { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Removes the segment directories in `directory` of launchers that no longer exist (killed
    /// with SIGKILL before they could remove theirs), as ``StaleFolderSweep`` decides: a job
    /// that still runs keeps its segments.
    @discardableResult
    static func removeStale(in directory: URL, minimumAge: TimeInterval = 3_600, now: Date = Date()) -> [URL] {
        StaleFolderSweep.remove(in: directory, ownerPID: { StaleFolderSweep.ownerPID(ofFolderNamed: $0, prefix: prefix) },
                                minimumAge: minimumAge, now: now)
    }
}
