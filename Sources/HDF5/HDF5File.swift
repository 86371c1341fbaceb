import CHDF5
import Foundation

/// An open HDF5 file. All object access goes through paths relative to the root.
///
/// Closing is deterministic: call `close()` (which throws if libhdf5 could not close the
/// file cleanly); `deinit` closes as a safety net. The file is opened with close degree
/// SEMI, so a forgotten libhdf5 handle makes close fail instead of leaving the file open.
/// Closing the file closes the datasets opened from it.
///
/// ```swift
/// let file = try HDF5File.create(at: URL(fileURLWithPath: "/tmp/w.h5"))
/// try file.write([1, 2, 3, 4] as [Float], shape: [2, 2], to: "layer/kernel")
/// try file.setAttribute("backend", "swift", on: "/")
/// try file.close()
/// let values = try HDF5File.open(at: URL(fileURLWithPath: "/tmp/w.h5"))
///     .dataset(at: "layer/kernel").read(as: Float.self)      // shape [2, 2]
/// ```
public final class HDF5File: @unchecked Sendable {
    /// Where the file lives.
    public let url: URL
    /// How it was opened.
    public let mode: HDF5OpenMode
    /// The libhdf5 file id, or -1 once closed. Guarded by `HDF5Library`'s lock.
    private(set) var id: hid_t
    /// Datasets opened from this file and still alive, closed with the file.
    private var openDatasets: [ObjectIdentifier: WeakDataset] = [:]

    /// The path used in error messages. Stored, because `URL.path` is recomputed on every
    /// call and every object access names the file in its error context.
    public let path: String

    private init(url: URL, mode: HDF5OpenMode, id: hid_t) {
        self.url = url
        self.path = url.path
        self.mode = mode
        self.id = id
    }

    /// Creates a new file (truncating an existing one unless `ifExists` is `.fail`). A lock
    /// that another open of an existing file holds is waited for as in ``open(at:mode:locking:)``.
    public static func create(
        at url: URL, ifExists: HDF5CreateMode = .truncate, locking: HDF5FileLocking = .libraryDefault
    ) throws -> HDF5File {
        try retryingLockConflicts(LockRetryPolicy()) { try HDF5Library.withLock {
            let call = HDF5Call(file: url.path, object: "")
            let fapl = try makeAccessList(locking: locking, call: call)
            defer { H5Pclose(fapl) }
            let flags = ifExists == .truncate ? bw_H5F_ACC_TRUNC() : bw_H5F_ACC_EXCL()
            let id = try call.check(H5Fcreate(url.path, flags, bw_H5P_DEFAULT(), fapl), "create")
            return HDF5File(url: url, mode: .readWrite, id: id)
        } }
    }

    /// A new file that lives in memory only (libhdf5's core driver, no backing store); `url`
    /// is its name in messages. ``atomicWrite(to:locking:inMemory:body:)`` writes its image
    /// to disk itself, so that libhdf5 never meets a disk error.
    static func createInMemory(label url: URL) throws -> HDF5File {
        try HDF5Library.withLock {
            let call = HDF5Call(file: url.path, object: "")
            let fapl = try makeAccessList(locking: .libraryDefault, call: call)
            defer { H5Pclose(fapl) }
            try call.check(H5Pset_fapl_core(fapl, 1 << 20, false), "select the in-memory driver")
            let id = try call.check(H5Fcreate(url.path, bw_H5F_ACC_EXCL(), bw_H5P_DEFAULT(), fapl), "create in memory")
            return HDF5File(url: url, mode: .readWrite, id: id)
        }
    }

    /// Opens an existing file. A lock that another open of the file holds is waited for about
    /// 2 s before the open fails (a child process between fork and exec holds one for a
    /// moment; see `HDF5File+LockConflicts.swift`).
    public static func open(
        at url: URL, mode: HDF5OpenMode = .readOnly, locking: HDF5FileLocking = .libraryDefault
    ) throws -> HDF5File {
        try open(at: url, mode: mode, locking: locking, retrying: LockRetryPolicy())
    }

    /// ``open(at:mode:locking:)`` with an explicit policy for refused locks (tests).
    static func open(
        at url: URL, mode: HDF5OpenMode, locking: HDF5FileLocking, retrying policy: LockRetryPolicy
    ) throws -> HDF5File {
        try retryingLockConflicts(policy) { try HDF5Library.withLock {
            let call = HDF5Call(file: url.path, object: "")
            let fapl = try makeAccessList(locking: locking, call: call)
            defer { H5Pclose(fapl) }
            let flags = mode == .readOnly ? bw_H5F_ACC_RDONLY() : bw_H5F_ACC_RDWR()
            let id = try call.check(H5Fopen(url.path, flags, fapl), "open")
            return HDF5File(url: url, mode: mode, id: id)
        } }
    }

    private static func makeAccessList(locking: HDF5FileLocking, call: HDF5Call) throws -> hid_t {
        let fapl = try call.check(H5Pcreate(bw_H5P_FILE_ACCESS()), "create file access list")
        do {
            try call.check(H5Pset_fclose_degree(fapl, H5F_CLOSE_SEMI), "set close degree")
            try call.check(locking.apply(to: fapl), "set file locking")
        } catch {
            H5Pclose(fapl)
            throw error
        }
        return fapl
    }

    /// Whether `close()` has not run yet.
    public var isOpen: Bool { HDF5Library.withLock { id >= 0 } }

    /// Closes the datasets opened from this file, flushes and closes it. Idempotent.
    /// Throws if a handle opened outside this module is still open; the file then stays open
    /// and `close()` can be retried. Throws too if the final flush fails (disk full); the
    /// handle is then gone for good (libhdf5 cannot close it twice) and the file is unusable.
    public func close() throws {
        try HDF5Library.withLock {
            guard id >= 0 else { return }
            for dataset in openDatasets.values.compactMap(\.dataset) { dataset.closeID() }
            openDatasets.removeAll()
            let call = HDF5Call(file: path, object: "")
            // Close degree SEMI refuses while objects opened through this id are still open;
            // that refusal leaves the file intact, so check it here and keep the id for a retry.
            let objects = H5Fget_obj_count(id, UInt32(H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL))
            if objects > 0 {
                throw HDF5Error.library(operation: "close", file: path, object: "",
                                        message: "\(objects) object(s) opened through this file are still open (close degree SEMI)")
            }
            // Any other failure (a flush hitting ENOSPC or EFBIG) leaves libhdf5 1.10.8's file
            // half torn down, and closing that id again segfaults in H5F__close: forget it.
            let result = H5Fclose(id)
            id = -1
            try call.check(result, "close")
        }
    }

    /// Flushes buffered data to disk without closing.
    public func flush() throws {
        try HDF5Library.withLock {
            try HDF5Call(file: path, object: "").check(H5Fflush(try requireOpen(""), H5F_SCOPE_GLOBAL), "flush")
        }
    }

    /// The number of libhdf5 objects open in this file, counting the file itself
    /// (so 1 means nothing but the file is open). For leak checks.
    public func openObjectCount() throws -> Int {
        try HDF5Library.withLock {
            let count = H5Fget_obj_count(try requireOpen(""), bw_H5F_OBJ_ALL())
            if count < 0 { throw HDF5Call(file: path, object: "").failure("count open objects") }
            return count
        }
    }

    deinit {
        HDF5Library.withLock {
            guard id >= 0 else { return }
            for dataset in openDatasets.values.compactMap(\.dataset) { dataset.closeID() }
            H5Fclose(id)
            H5Eclear2(bw_H5E_DEFAULT())
        }
    }

    /// The open file id, or `.closed`. Call inside the lock.
    func requireOpen(_ object: String) throws -> hid_t {
        guard id >= 0 else { throw HDF5Error.closed(file: path, object: object) }
        return id
    }

    func register(_ dataset: HDF5Dataset) {
        openDatasets[ObjectIdentifier(dataset)] = WeakDataset(dataset: dataset)
    }

    func unregister(_ dataset: HDF5Dataset) {
        openDatasets[ObjectIdentifier(dataset)] = nil
    }
}

private struct WeakDataset {
    weak var dataset: HDF5Dataset?
}
