import Foundation
import Testing
@testable import HDF5
#if canImport(Glibc)
import Glibc
#endif

/// A lock held for a moment by another open file description (a child process between fork and
/// exec shares the parent's descriptors) is waited out; one held for good is still refused.
/// The waits are replaced by a hook that runs between attempts, so nothing depends on timing.
@Suite("Refused file locks: a transient holder is waited out, a lasting one refused")
struct LockConflictTests {
    /// Sets `flock` on `url` through a descriptor of its own, as an inherited one would.
    ///
    /// The file was just closed, but a child process that another test started in the meantime
    /// (`Process` in `StaleTemporaryTests`, `BatchwiseInteropTests`) may still share the
    /// libhdf5 descriptor and its lock until it closes its inherited descriptors before exec.
    /// That is the very conflict the library waits out, so this waits it out too: a blocking
    /// `flock` in a bounded loop of non-blocking attempts (at most 10 s, then the test fails).
    static func holdLock(on url: URL) throws -> Int32 {
        let fd = Glibc.open(url.path, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        var locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        for _ in 0..<1_000 where !locked {
            usleep(10_000)
            locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        }
        if !locked { close(fd) }
        try #require(locked, "another open file description held \(url.path) for 10 s")
        return fd
    }

    final class Attempts: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func record() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }

    @Test func aLockReleasedBetweenAttemptsIsWaitedOut() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("held.h5")
            let file = try HDF5File.create(at: url)
            try file.write([Float(1), 2], to: "x")
            try file.close()
            let fd = try Self.holdLock(on: url)
            defer { close(fd) }
            let attempts = Attempts()
            let policy = HDF5File.LockRetryPolicy(delays: [0, 0, 0]) { _ in
                attempts.record()
                flock(fd, LOCK_UN)   // the half-started child execs and lets go
            }
            let reopened = try HDF5File.open(at: url, mode: .readOnly, locking: .enabled, retrying: policy)
            #expect(try reopened.read("x", as: Float.self).values == [1, 2])
            try reopened.close()
            #expect(attempts.value == 1, "the first open met the lock, the second got the file")
        }
    }

    @Test func aLockHeldThroughEveryAttemptIsStillATypedError() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("writer.h5")
            try HDF5File.create(at: url).close()
            let fd = try Self.holdLock(on: url)
            defer { close(fd) }
            let attempts = Attempts()
            let policy = HDF5File.LockRetryPolicy(delays: [0, 0]) { _ in attempts.record() }
            do {
                _ = try HDF5File.open(at: url, mode: .readOnly, locking: .enabled, retrying: policy)
                Issue.record("opened a file whose lock another description holds")
            } catch let error as HDF5Error {
                #expect(error.isRefusedLock, "\(error)")
                #expect(error.localizedDescription.contains(url.path))
            }
            #expect(attempts.value == 2, "every delay of the policy was used before giving up")
        }
    }
}
