import Foundation
@testable import HDF5

/// A fresh directory under /tmp, removed when `body` returns.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = URL(fileURLWithPath: NSTemporaryDirectory())
        .appendingPathComponent("hdf5tests-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Serializes `capturingStandardError` across the suites swift-testing runs in parallel.
///
/// Descriptor 2 is one per process. Two unserialized captures interleave as save A, save B
/// (which saves A's capture file), restore A, restore B: descriptor 2 is then left on A's
/// deleted file and swift-testing's own report, written to standard error, is lost from there
/// on; the run exits 0 without its "Test run with N tests passed" summary (the sanitizer CI
/// step failed that way, stop 20).
private let standardErrorCapture = NSLock()

/// Captures everything written to file descriptor 2 while `body` runs.
/// Other code in the process may write too (swift-testing's progress lines included), so
/// callers look for HDF5 text, not emptiness.
func capturingStandardError(_ body: () throws -> Void) rethrows -> String {
    standardErrorCapture.lock()
    defer { standardErrorCapture.unlock() }
    let path = NSTemporaryDirectory() + "stderr-\(getpid())-\(UUID().uuidString)"
    let capture = open(path, O_CREAT | O_TRUNC | O_RDWR, 0o600)
    let saved = dup(2)
    fflush(nil)
    dup2(capture, 2)
    defer {
        fflush(nil)
        dup2(saved, 2)
        close(saved)
        close(capture)
        unlink(path)
    }
    try body()
    fflush(nil)
    return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
}

/// Runs `body` on a brand-new thread (libhdf5's error printing is per thread) and waits.
func onNewThread(_ body: @escaping @Sendable () -> Void) {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        body()
        done.signal()
    }
    thread.start()
    done.wait()
}

/// Row-major values 0, 1, 2... converted to `T`, distinct enough to catch misplaced rows.
func ramp<T: BinaryFloatingPoint>(_ count: Int, as: T.Type, scale: T = 0.5) -> [T] {
    (0..<count).map { T($0) * scale - 3 }
}
