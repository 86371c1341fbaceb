import CHDF5
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
    /// `inMemory` builds the file in memory and writes its image with plain `write(2)`
    /// calls: a full disk (ENOSPC) or a file-size limit (EFBIG) then fails those writes
    /// cleanly. libhdf5 1.10.8 does not survive them itself: a flush that fails while closing
    /// leaves its file object half destroyed, and the library's exit handler then segfaults.
    /// Use it for files that fit in memory (checkpoints, model weights).
    ///
    /// ```swift
    /// try HDF5File.atomicWrite(to: checkpointURL, inMemory: true) { file in
    ///     try file.write(weights, shape: [4, 3], to: "dense/kernel")
    ///     try file.setAttribute("epoch", Int64(12))
    /// }
    /// ```
    @discardableResult
    public static func atomicWrite<T>(
        to url: URL, locking: HDF5FileLocking = .disabled, inMemory: Bool = false,
        durability: HDF5Durability = .synced, body: (HDF5File) throws -> T
    ) throws -> T {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(uniqueSuffix())")
        do {
            // The temporary name is private to this writer, so OS locking buys nothing by default.
            let file = inMemory
                ? try HDF5File.createInMemory(label: temporary)
                : try HDF5File.create(at: temporary, ifExists: .fail, locking: locking)
            let result: T
            do {
                result = try body(file)
            } catch {
                try? file.close()
                throw error
            }
            if inMemory {
                let image = try file.closeReturningImage()
                try writeNewFile(temporary.path, image, sync: durability == .synced)
            } else {
                try file.close()
                if durability == .synced { try fsyncPath(temporary.path, directory: false) }
            }
            SavePausePoint.pauseIfRequested(.temporaryComplete, temporary: temporary.path)
            if durability == .synced {
                guard rename(temporary.path, url.path) == 0 else { throw systemError("rename", url.path) }
                try fsyncPath(directory.path, directory: true)
            } else {
                try publishWithoutFlush(temporary.path, over: url.path)
            }
            return result
        } catch {
            unlink(temporary.path)
            throw error
        }
    }

    /// Flushes, copies out the file image and closes (an in-memory file: nothing touches disk).
    func closeReturningImage() throws -> [UInt8] {
        let image: [UInt8] = try HDF5Library.withLock {
            let fileID = try requireOpen("")
            let call = HDF5Call(file: path, object: "")
            try call.check(H5Fflush(fileID, H5F_SCOPE_GLOBAL), "flush")
            let size = H5Fget_file_image(fileID, nil, 0)
            guard size > 0 else { throw call.failure("get file image size") }
            // Uninitialised: zero-filling megabytes that libhdf5 overwrites at once is pure cost.
            var copied = -1
            let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                copied = H5Fget_file_image(fileID, buffer.baseAddress, size)
                count = copied == size ? size : 0
            }
            guard copied == size else { throw call.failure("get file image") }
            return bytes
        }
        try close()
        return image
    }

    /// Creates `path` (which must not exist), writes `bytes`, fsyncs (if `sync`) and closes it.
    private static func writeNewFile(_ path: String, _ bytes: [UInt8], sync: Bool) throws {
        let descriptor = posixOpen(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw systemError("create", path) }
        var closed = false
        defer { if !closed { posixClose(descriptor) } }
        try bytes.withUnsafeBytes { buffer in
            var done = 0
            // Without a requested pause this is one write of the whole image.
            let half = SavePausePoint.requested == .temporaryPartial ? buffer.count / 2 : buffer.count
            while done < buffer.count {
                if done == half { SavePausePoint.pauseIfRequested(.temporaryPartial, temporary: path) }
                let limit = done < half ? half : buffer.count
                let count = posixWrite(descriptor, buffer.baseAddress! + done, limit - done)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw systemError("write", path)
                }
                done += count
            }
        }
        if sync { guard fsync(descriptor) == 0 else { throw systemError("fsync", path) } }
        closed = true
        guard posixClose(descriptor) == 0 else { throw systemError("close", path) }
    }

    /// Publishes `temporary` at `target` without the flush that ext4 (`auto_da_alloc`) performs
    /// inside a rename that replaces a file: that flush is what `.processCrashSafe` promises to
    /// skip, and it cost about 4 ms of an 11 ms checkpoint save. Swapping the two names
    /// atomically (readers see the old or the new file, as with rename) and then unlinking the
    /// old file avoids it. Falls back to rename when there is nothing regular to swap with, or
    /// the system cannot swap.
    private static func publishWithoutFlush(_ temporary: String, over target: String) throws {
        var status = stat()
        // Swapping with a directory would succeed and move the user's folder aside.
        if lstat(target, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG,
           bw_rename_exchange(temporary, target) == 0 {
            // The temporary name now holds the previous file. Should unlinking it fail, the
            // leftover is a complete old file under a temporary name, which the next save's
            // stale-temporary sweep removes once this process is gone.
            unlink(temporary)
            return
        }
        guard rename(temporary, target) == 0 else { throw systemError("rename", target) }
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
private func posixOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 { open(path, flags, mode) }
@discardableResult private func posixClose(_ descriptor: Int32) -> Int32 { close(descriptor) }
private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(descriptor, bytes, count) }
