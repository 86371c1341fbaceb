import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cleaning up after writers that died mid-``HDF5File/atomicWrite(to:locking:body:)``.
///
/// A killed save leaves its `.<name>.tmp-<pid>-<unique>` file behind (nothing runs at
/// SIGKILL). A temporary is stale when no process with its pid exists; a live writer's
/// temporary (another process, or this one) is never touched. A reused pid keeps a stale
/// file until that process ends, which errs on the safe side. Pids are only meaningful on
/// one host and pid namespace: folders shared between containers or machines must not be
/// written by several of them at once.
///
/// ```swift
/// let removed = try HDF5File.removeStaleTemporaries(of: checkpointURL)   // before saving again
/// ```
extension HDF5File {
    /// The name prefix of `atomicWrite`'s temporaries for `url`: `.<name>.tmp-`.
    public static func temporaryNamePrefix(for url: URL) -> String {
        ".\(url.lastPathComponent).tmp-"
    }

    /// The writer's pid in a temporary's name (`.ckpt-7.h5.tmp-<pid>-<unique>`), nil for other names.
    public static func temporaryWriterPID(_ name: String) -> Int32? {
        guard name.hasPrefix("."), let range = name.range(of: ".tmp-", options: .backwards) else { return nil }
        let digits = name[range.upperBound...].prefix { $0 != "-" }
        guard !digits.isEmpty, name[range.upperBound...].dropFirst(digits.count).hasPrefix("-") else { return nil }
        return Int32(digits)
    }

    /// Whether a process with `pid` exists (EPERM means it exists but belongs to someone else).
    public static func processExists(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Removes the temporaries of dead writers for the file at `url`. Returns what was removed.
    @discardableResult
    public static func removeStaleTemporaries(of url: URL) throws -> [URL] {
        let prefix = temporaryNamePrefix(for: url)
        return try removeStaleTemporaries(in: url.deletingLastPathComponent()) { $0.hasPrefix(prefix) }
    }

    /// Removes the temporaries in `directory` whose name satisfies `matches` and whose writer
    /// no longer exists. A file that vanished meanwhile (another cleaner) is not an error.
    @discardableResult
    public static func removeStaleTemporaries(in directory: URL, where matches: (String) -> Bool) throws -> [URL] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw HDF5Error.system(operation: "list folder for stale temporaries", file: directory.path, errno: 0,
                                   message: error.localizedDescription)
        }
        var removed: [URL] = []
        for name in names where matches(name) {
            guard let pid = temporaryWriterPID(name), !processExists(pid) else { continue }
            let file = directory.appendingPathComponent(name)
            if unlink(file.path) == 0 {
                removed.append(file)
            } else if errno != ENOENT {
                let code = errno
                throw HDF5Error.system(operation: "remove stale temporary", file: file.path, errno: code,
                                       message: String(cString: strerror(code)))
            }
        }
        return removed
    }
}
