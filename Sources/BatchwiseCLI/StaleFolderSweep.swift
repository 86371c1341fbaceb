import Foundation
import HDF5

/// Removes the temporary folders that commands killed with SIGKILL (which skips `defer`) left
/// behind: the isolated probe's folders (``IsolatedProbe/removeStaleFolders(in:minimumAge:now:)``)
/// and the launcher's segment directories (``SegmentDirectory/removeStale(in:minimumAge:now:)``).
/// Each such folder carries its owner's pid in its name (`<prefix><pid>-<unique>`).
///
/// A folder goes only when its name parses to a pid, no process with that pid exists *and* it
/// was last modified over `minimumAge` seconds ago: another container sharing the directory
/// has pids this one cannot see, and a command that still runs keeps its folder fresh.
/// Failures are ignored: a cleanup must never fail the command that runs it.
enum StaleFolderSweep {
    /// The pid in `name` when it reads `<prefix><digits>-...`; nil for any other name.
    static func ownerPID(ofFolderNamed name: String, prefix: String) -> Int32? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, rest.dropFirst(digits.count).hasPrefix("-") else { return nil }
        return Int32(digits)
    }

    /// Removes the folders in `directory` whose `ownerPID` names a process that no longer
    /// exists and that are older than `minimumAge`; names `ownerPID` returns nil for are never
    /// touched. Returns what was removed.
    @discardableResult
    static func remove(in directory: URL, ownerPID: (String) -> Int32?,
                       minimumAge: TimeInterval = 3_600, now: Date = Date()) -> [URL] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory.path) else { return [] }
        var removed: [URL] = []
        for name in names {
            guard let pid = ownerPID(name), !HDF5File.processExists(pid) else { continue }
            let folder = directory.appendingPathComponent(name)
            guard let modified = (try? manager.attributesOfItem(atPath: folder.path))?[.modificationDate] as? Date,
                  now.timeIntervalSince(modified) > minimumAge else { continue }
            if (try? manager.removeItem(at: folder)) != nil { removed.append(folder) }
        }
        return removed
    }
}
