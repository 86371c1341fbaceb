import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe saving: readers see either the old file or the complete new one.
extension HDF5File {
    /// Writes a whole file through `body`, then publishes it at `url` atomically.
    ///
    /// The file is written as `.<name>.tmp-<pid>-<unique>` in the same directory, closed with
    /// its close status checked (close degree SEMI makes a leaked handle fail here instead of
    /// publishing a truncated file), fsynced, renamed over `url`, and the directory fsynced.
    /// On any error the temporary file is removed and `url` is untouched.
    /// `durability: .processCrashSafe` skips both fsyncs (see ``HDF5Durability``).
    ///
    /// ```swift
    /// try HDF5File.atomicWrite(to: checkpointURL) { file in
    ///     try file.write(weights, shape: [4, 3], to: "dense/kernel")
    ///     try file.setAttribute("epoch", Int64(12))
    /// }
    /// ```
    @discardableResult
    public static func atomicWrite<T>(
        to url: URL, locking: HDF5FileLocking = .disabled, durability: HDF5Durability = .synced,
        body: (HDF5File) throws -> T
    ) throws -> T {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(uniqueSuffix())")
        do {
            // The temporary name is private to this writer, so OS locking buys nothing by default.
            let file = try HDF5File.create(at: temporary, ifExists: .fail, locking: locking)
            let result: T
            do {
                result = try body(file)
            } catch {
                try? file.close()
                throw error
            }
            try file.close()
            if durability == .synced { try fsyncPath(temporary.path, directory: false) }
            guard rename(temporary.path, url.path) == 0 else { throw systemError("rename", url.path) }
            if durability == .synced { try fsyncPath(directory.path, directory: true) }
            return result
        } catch {
            unlink(temporary.path)
            throw error
        }
    }

    private static func fsyncPath(_ path: String, directory: Bool) throws {
        let descriptor = posixOpen(path, directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY)
        guard descriptor >= 0 else { throw systemError("open for fsync", path) }
        defer { posixClose(descriptor) }
        guard fsync(descriptor) == 0 else { throw systemError("fsync", path) }
    }

    private static func systemError(_ operation: String, _ path: String) -> HDF5Error {
        let code = errno
        return .system(operation: operation, file: path, errno: code, message: String(cString: strerror(code)))
    }

    /// Unique within the process (counter) and across processes and restarts (pid + clock);
    /// not a random generator, so it does not compete with the project's seeded RNG.
    private static func uniqueSuffix() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        let count = AtomicWriteCounter.shared.next()
        return String(UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec), radix: 36) + String(count, radix: 36)
    }
}

/// A process-wide counter for temporary names (guarded by the HDF5 lock).
final class AtomicWriteCounter: @unchecked Sendable {
    static let shared = AtomicWriteCounter()
    private var value = 0

    func next() -> Int {
        HDF5Library.withLock {
            value += 1
            return value
        }
    }
}

// `open`/`close` alone would resolve to HDF5File's methods inside the extension.
private func posixOpen(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }
private func posixClose(_ descriptor: Int32) { close(descriptor) }
