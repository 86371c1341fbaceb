import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-wide facts about, and the one lock around, the linked libhdf5.
///
/// Every call sequence into libhdf5 made by this module runs inside `HDF5Library.withLock`,
/// including closes from `deinit`. The lock is recursive because libhdf5 callbacks
/// (iteration, error walking) may call back into this module.
///
/// ```swift
/// print(HDF5Library.version)          // "1.10.8"
/// let count = HDF5Library.withLock { 42 }  // run your own raw libhdf5 code safely
/// ```
public enum HDF5Library {
    /// The version of the libhdf5 this process is linked against, e.g. "1.10.8".
    public static var version: String {
        withLock {
            var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
            H5get_libversion(&major, &minor, &release)
            return "\(major).\(minor).\(release)"
        }
    }

    /// Whether libhdf5 was built thread-safe. This module locks either way; this is for diagnostics.
    public static var isThreadSafeBuild: Bool {
        withLock {
            var flag: hbool_t = false
            H5is_library_threadsafe(&flag)
            return flag
        }
    }

    /// Runs `body` holding the process-wide recursive lock, with libhdf5's automatic
    /// stderr error printing switched off for the calling thread.
    @discardableResult
    public static func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        // Per thread in thread-safe builds, so do it on every entry (it is cheap).
        H5Eset_auto2(bw_H5E_DEFAULT(), nil, nil)
        return try body()
    }

    private static let lock = RecursiveMutex()
}

/// A pthread recursive mutex; `Synchronization.Mutex` and `NSLock` are not reentrant.
final class RecursiveMutex: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}
