#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value that several threads share, behind a pthread mutex.
///
/// `Synchronization.Mutex` would read better, but on Linux it locks inside the standard
/// library, where Thread Sanitizer cannot see it: every access made under it was reported as a
/// data race (`make test-sanitize` failed on the prefetch's replay log). pthread mutexes are
/// intercepted by the sanitizers, so a real race stays visible and a guarded access is not
/// reported. The lock is taken rarely here (once per state snapshot, per pruning of the replay
/// log, per placement lesson), never per element.
final class LockedValue<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, holding the lock.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
