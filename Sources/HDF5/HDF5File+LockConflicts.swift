import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension HDF5File {
    /// How `create` and `open` wait out a lock held only for a moment.
    ///
    /// libhdf5 `flock(2)`s a file when it opens it and refuses the file (EAGAIN) while another
    /// open file description holds that lock. A child process started by any thread of this
    /// process (Foundation's `Process`, `posix_spawn`) shares every descriptor of the parent
    /// from its fork until its exec closes them. A file that another thread closed and reopens
    /// inside that window meets its own lock, held by the half-started child, and the open fails
    /// for no fault of the caller. Such a conflict clears within milliseconds; a real second
    /// writer holds its lock for as long as it works. So a refused lock is retried after
    /// `delays` (without holding `HDF5Library`'s lock), then reported as before.
    struct LockRetryPolicy: Sendable {
        /// Pauses before each further attempt, in microseconds (about 2 s in all).
        ///
        /// A child's window can last far longer than a fork: `Process` closes every descriptor
        /// up to the descriptor limit before exec, which under a high `RLIMIT_NOFILE` or a
        /// sanitizer takes a noticeable fraction of a second (a holder with no wait at all met such a lock in CI).
        var delays: [UInt32] = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000,
                                256_000, 512_000, 1_000_000]
        /// Called between attempts instead of sleeping when set (tests release a lock here).
        var pause: (@Sendable (_ attempt: Int) -> Void)? = nil
    }

    /// Runs `attempt` until it succeeds, fails otherwise than by a refused lock, or the policy's
    /// delays run out; then rethrows the last error.
    static func retryingLockConflicts<T>(_ policy: LockRetryPolicy, _ attempt: () throws -> T) throws -> T {
        var tries = 0
        while true {
            do {
                return try attempt()
            } catch let error as HDF5Error where error.isRefusedLock && tries < policy.delays.count {
                if let pause = policy.pause { pause(tries) } else { usleep(policy.delays[tries]) }
                tries += 1
            }
        }
    }
}

extension HDF5Error {
    /// libhdf5's "unable to lock file ... errno = 11" (EAGAIN/EWOULDBLOCK): another open file
    /// description holds the file's lock.
    var isRefusedLock: Bool {
        guard case let .library(_, _, _, message) = self else { return false }
        return message.contains("unable to lock file") && message.contains("errno = \(EWOULDBLOCK)")
    }
}
