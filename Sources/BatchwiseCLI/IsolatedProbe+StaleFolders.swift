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
        for use in uses {
            let prefix = "batchwise-\(use)-"
            guard name.hasPrefix(prefix) else { continue }
            let rest = name.dropFirst(prefix.count)
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, rest.dropFirst(digits.count).hasPrefix("-") else { return nil }
            return Int32(digits)
        }
        return nil
    }

    /// Removes the probe folders in `directory` left by commands that were killed before their
    /// `defer` could run (SIGKILL, a lost terminal). A folder goes only when its owner no
    /// longer exists *and* it was last modified over `minimumAge` seconds ago: another
    /// container sharing /tmp has pids this one cannot see, and its probes finish long before
    /// an hour. Failures are ignored: a cleanup must never fail the command that runs it.
    @discardableResult
    static func removeStaleFolders(in directory: URL = FileManager.default.temporaryDirectory,
                                   minimumAge: TimeInterval = 3_600, now: Date = Date()) -> [URL] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory.path) else { return [] }
        var removed: [URL] = []
        for name in names {
            guard let pid = ownerPID(ofFolderNamed: name), !HDF5File.processExists(pid) else { continue }
            let folder = directory.appendingPathComponent(name)
            guard let modified = (try? manager.attributesOfItem(atPath: folder.path))?[.modificationDate] as? Date,
                  now.timeIntervalSince(modified) > minimumAge else { continue }
            if (try? manager.removeItem(at: folder)) != nil { removed.append(folder) }
        }
        return removed
    }
}
