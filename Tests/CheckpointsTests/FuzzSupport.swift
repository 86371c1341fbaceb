import CProcessControl
import Foundation
import Tensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One seeded corruption of a byte buffer. Every mutant is reproducible from
/// (base file, case seed) alone, so a failing case can be replayed in isolation.
///
/// ```swift
/// var rng = SplitMix64(seed: 42)
/// let mutation = FuzzMutation.random(length: bytes.count, using: &rng)
/// let mutant = mutation.apply(to: bytes)
/// ```
enum FuzzMutation: CustomStringConvertible, Sendable {
    case flipBits([(offset: Int, bit: UInt8)])
    case truncate(to: Int)
    case insert(at: Int, bytes: [UInt8])
    case delete(at: Int, count: Int)
    case overwrite(at: Int, bytes: [UInt8])

    static func random(length: Int, using rng: inout SplitMix64) -> FuzzMutation {
        let n = max(length, 1)
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        switch rng.nextIndex(below: 5) {
        case 0:
            // Bias toward the first 4 KiB: superblock and root object headers live there and
            // are where a flip changes control flow rather than one weight.
            let count = 1 + rng.nextIndex(below: 8)
            return .flipBits((0..<count).map { _ in
                let limit = rng.nextIndex(below: 2) == 0 ? min(n, 4096) : n
                return (rng.nextIndex(below: limit), UInt8(rng.nextIndex(below: 8)))
            })
        case 1:
            return .truncate(to: rng.nextIndex(below: n))
        case 2:
            let at = rng.nextIndex(below: n + 1)
            return .insert(at: at, bytes: bytes(1 + rng.nextIndex(below: 16)))
        case 3:
            let at = rng.nextIndex(below: n)
            return .delete(at: at, count: 1 + rng.nextIndex(below: 16))
        default:
            let at = rng.nextIndex(below: n)
            return .overwrite(at: at, bytes: bytes(1 + rng.nextIndex(below: 64)))
        }
    }

    func apply(to input: [UInt8]) -> [UInt8] {
        var out = input
        switch self {
        case let .flipBits(flips):
            for flip in flips where flip.offset < out.count { out[flip.offset] ^= 1 << flip.bit }
        case let .truncate(length):
            out = Array(out.prefix(length))
        case let .insert(at, bytes):
            out.insert(contentsOf: bytes, at: min(at, out.count))
        case let .delete(at, count):
            let start = min(at, out.count)
            out.removeSubrange(start..<min(start + count, out.count))
        case let .overwrite(at, bytes):
            for (i, byte) in bytes.enumerated() where at + i < out.count { out[at + i] = byte }
        }
        return out
    }

    var description: String {
        switch self {
        case let .flipBits(flips): return "flipBits(" + flips.map { "\($0.offset):\($0.bit)" }.joined(separator: ",") + ")"
        case let .truncate(length): return "truncate(to: \(length))"
        case let .insert(at, bytes): return "insert(at: \(at), \(bytes.count) bytes)"
        case let .delete(at, count): return "delete(at: \(at), count: \(count))"
        case let .overwrite(at, bytes): return "overwrite(at: \(at), \(bytes.count) bytes)"
        }
    }
}

/// Runs an executable with a deadline, returning its exit status (or signal) and stderr.
///
/// ```swift
/// let run = try ChildProcess.run(helper, ["model.keras", "0.h5"], deadline: 30)
/// if run.signal == SIGSEGV { ... }
/// ```
struct ChildProcess {
    var status: Int32
    /// The terminating signal, or nil after a normal exit.
    var signal: Int32?
    var timedOut: Bool
    var stderr: String
    /// Empty unless `captureStandardOutput`.
    var stdout = ""

    static func run(_ executable: URL, _ arguments: [String], deadline seconds: Double,
                    captureStandardOutput: Bool = false, environment: [String: String] = [:],
                    tiedToThisProcess: Bool = true) throws -> ChildProcess {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = tiedToThisProcess ? tiedEnvironment(environment)
            : ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let errors = Pipe()
        let output = Pipe()
        process.standardError = errors
        process.standardOutput = captureStandardOutput ? output : FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let fired = LockedFlag()
        let watchdog = DispatchWorkItem {
            fired.set()
            kill(pid, SIGKILL)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: watchdog)
        // Drain stdout on another thread so a full pipe cannot stall the child while we read stderr.
        let collected = LockedData()
        let reader = DispatchGroup()
        if captureStandardOutput {
            DispatchQueue.global().async(group: reader) { collected.set(output.fileHandleForReading.readDataToEndOfFile()) }
        }
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        reader.wait()
        watchdog.cancel()
        let bySignal = process.terminationReason == .uncaughtSignal
        return ChildProcess(status: process.terminationStatus, signal: bySignal ? process.terminationStatus : nil,
                            timedOut: fired.value, stderr: text, stdout: String(decoding: collected.value, as: UTF8.self))
    }

    /// This process's environment plus `extra`, asking a Batchwise executable (batchwise,
    /// CheckpointFuzzHelper) to die with this process: a test run killed mid-test leaves no
    /// CLI or helper behind. Start and wait for such a child on one thread (CProcessControl.h).
    static func tiedEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(extra) { $1 }
            .merging([BW_DIE_WITH_PARENT_VARIABLE: String(getpid())]) { $1 }
    }

    /// An executable built next to the test bundle, else in .build/debug.
    static func built(_ name: String) -> URL? {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let debug = package.appendingPathComponent(".build/debug/\(name)")
        return [beside, debug].first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.withLock { flag = true } }
    var value: Bool { lock.withLock { flag } }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    var value: Data { lock.withLock { data } }
}
