import Foundation
import HDF5

extension IsolatedProbe {
    /// Names the temporary folder of one probe: `batchwise-<use>-<pid>-<uuid>`, where `use` is
    /// `probe` (the child's stdout/stderr) or `<kind>-copy` (the child's clean copy). The pid
    /// lets a later run tell a folder of a killed command from one still in use.
    static func temporaryFolder(_ use: String) -> URL {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("batchwise-\(use)-\(getpid())-\(UUID().uuidString)")
    }

    /// The pid in a folder name made by ``temporaryFolder(_:)``, or nil for any other name.
    static func ownerPID(ofFolderNamed name: String) -> Int32? {
        let uses = ["probe"] + ProbeKind.allCases.map { "\($0.rawValue)-copy" }
        guard let use = uses.first(where: { name.hasPrefix("batchwise-\($0)-") }) else { return nil }
        return StaleFolderSweep.ownerPID(ofFolderNamed: name, prefix: "batchwise-\(use)-")
    }

    /// Removes the probe folders in `directory` left by commands that were killed before their
    /// `defer` could run (SIGKILL, a lost terminal), as ``StaleFolderSweep`` decides: their
    /// probes finish long before `minimumAge`.
    @discardableResult
    static func removeStaleFolders(in directory: URL = FileManager.default.temporaryDirectory,
                                   minimumAge: TimeInterval = 3_600, now: Date = Date()) -> [URL] {
        StaleFolderSweep.remove(in: directory, ownerPID: ownerPID(ofFolderNamed:), minimumAge: minimumAge, now: now)
    }
}
