import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing an in-memory (core driver) file to disk ourselves, so that a full disk fails a plain
/// `write(2)` instead of a libhdf5 flush (see ``HDF5File/atomicWrite(to:locking:inMemory:durability:body:)``).
extension HDF5File {
    /// Flushes this in-memory file, writes its image to the new file `path` (fsynced if `sync`)
    /// and closes it.
    ///
    /// The image is written straight from the core driver's buffer: copying it out first
    /// (`H5Fget_file_image`) doubled the memory a save needs and cost a pass over every byte.
    /// That copy differs from the buffer in one field only — the superblock's status flags,
    /// which say "open for writing" in the live buffer and which the copy clears — so the
    /// same clearing is done while writing. Anything unexpected (another superblock version, a
    /// user block, no buffer) takes the copying path instead; `zeroCopy: false` forces it.
    func publishImage(toNewFile path: String, sync: Bool, zeroCopy: Bool = true) throws {
        let image: FlushedImage
        do {
            image = try HDF5Library.withLock { try flushedImageLocked(zeroCopy: zeroCopy) }
        } catch {
            try? close()
            throw error
        }
        do {
            // Outside the library lock: the buffer belongs to this private file, which nothing
            // else touches until it is closed below, and the write (with fsync) takes milliseconds.
            try image.withSegments { try Self.writeNewFile(path, $0, sync: sync) }
        } catch {
            try? close()
            throw error
        }
        try close()
    }

    /// The flushed image as a copy (`H5Fget_file_image`), for tests that compare it with what
    /// ``publishImage(toNewFile:sync:zeroCopy:)`` writes.
    func flushedImageCopy() throws -> [UInt8] {
        try HDF5Library.withLock {
            let fileID = try requireOpen("")
            try HDF5Call(file: path, object: "").check(H5Fflush(fileID, H5F_SCOPE_GLOBAL), "flush")
            return try Self.copyImage(fileID, call: HDF5Call(file: path, object: ""))
        }
    }

    /// Whether ``publishImage(toNewFile:sync:zeroCopy:)`` can write from the live buffer
    /// (tests check that the fast path is the one taken).
    func canPublishWithoutCopy() throws -> Bool {
        try HDF5Library.withLock {
            if case .live = try flushedImageLocked(zeroCopy: true) { return true }
            return false
        }
    }

    private func flushedImageLocked(zeroCopy: Bool) throws -> FlushedImage {
        let fileID = try requireOpen("")
        let call = HDF5Call(file: path, object: "")
        try call.check(H5Fflush(fileID, H5F_SCOPE_GLOBAL), "flush")
        let size = H5Fget_file_image(fileID, nil, 0)
        guard size > 0 else { throw call.failure("get file image size") }
        if zeroCopy, let buffer = Self.coreBuffer(fileID, size: size) { return .live(buffer) }
        return .copy(try Self.copyImage(fileID, call: call))
    }

    /// The core driver's buffer, if the file starts with a version 0 or 1 superblock (whose
    /// status flags are the 4 bytes at offset 20); otherwise nil.
    private static func coreBuffer(_ fileID: hid_t, size: Int) -> UnsafeRawBufferPointer? {
        var handle: UnsafeMutableRawPointer?
        guard H5Fget_vfd_handle(fileID, bw_H5P_DEFAULT(), &handle) >= 0, let handle else {
            H5Eclear2(bw_H5E_DEFAULT())
            return nil
        }
        // The core driver hands out the address of its buffer pointer.
        guard let base = handle.load(as: UnsafeRawPointer?.self), size > FlushedImage.flagsEnd else { return nil }
        let buffer = UnsafeRawBufferPointer(start: base, count: size)
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        guard buffer.prefix(8).elementsEqual(signature), buffer[8] <= 1 else { return nil }
        return buffer
    }

    private static func copyImage(_ fileID: hid_t, call: HDF5Call) throws -> [UInt8] {
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

    /// Creates `path` (which must not exist), writes the segments in order, fsyncs (if `sync`)
    /// and closes it.
    static func writeNewFile(_ path: String, _ segments: [UnsafeRawBufferPointer], sync: Bool) throws {
        let descriptor = posixOpen(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw systemError("create", path) }
        var closed = false
        defer { if !closed { posixClose(descriptor) } }
        for segment in segments where segment.count > 0 {
            var done = 0
            while done < segment.count {
                let count = posixWrite(descriptor, segment.baseAddress! + done, segment.count - done)
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

    static func systemError(_ operation: String, _ path: String) -> HDF5Error {
        let code = errno
        return .system(operation: operation, file: path, errno: code, message: String(cString: strerror(code)))
    }
}

/// A flushed file image: the core driver's live buffer, or a copy of it.
private enum FlushedImage {
    case live(UnsafeRawBufferPointer)
    case copy([UInt8])

    /// The superblock (version 0/1) status flags: bytes 20..<24.
    static let flagsStart = 20
    static let flagsEnd = 24
    private static let clearedFlags: [UInt8] = [0, 0, 0, 0]

    func withSegments<R>(_ body: ([UnsafeRawBufferPointer]) throws -> R) throws -> R {
        switch self {
        case let .copy(bytes):
            return try bytes.withUnsafeBytes { try body([$0]) }
        case let .live(buffer):
            return try Self.clearedFlags.withUnsafeBytes { zeros in
                try body([UnsafeRawBufferPointer(rebasing: buffer[..<Self.flagsStart]), zeros,
                          UnsafeRawBufferPointer(rebasing: buffer[Self.flagsEnd...])])
            }
        }
    }
}

// `open`/`close` alone would resolve to HDF5File's methods inside its extensions.
func posixOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 { open(path, flags, mode) }
@discardableResult func posixClose(_ descriptor: Int32) -> Int32 { close(descriptor) }
func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(descriptor, bytes, count) }
