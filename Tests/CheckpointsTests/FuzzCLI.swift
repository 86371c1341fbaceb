import Foundation
import HDF5
import Tensors
@testable import Checkpoints
#if canImport(Glibc)
import Glibc
#endif

/// The fuzz campaign's command-line half: mutants go to the built `batchwise inspect FILE` and
/// `batchwise predict --model FILE ...` (with the default isolated probe). Unlike the
/// in-process helper, the CLI must end cleanly on every file: exit 0, or exit 1 with one
/// `batchwise <command>: ...` line on stderr. A signal, a hang or any other output fails.
///
/// ```swift
/// let tally = try FuzzCLI.run(files: [(7, "/tmp/7.h5")], folder: folder, labels: labels)
/// ```
enum FuzzCLI {
    /// Seconds the isolated probe may take (the CLI default is 60; libhdf5's loops never end).
    static let probeTimeout = "4"

    struct Tally {
        var outcomes: [String: Int] = [:]
        var failures: [String] = []
        var runs = 0
    }

    /// Runs both commands on every file, two at a time.
    static func run(files: [(index: Int, path: String)], folder: URL, labels: [String]) throws -> Tally {
        guard let executable = ChildProcess.built("batchwise") else {
            return Tally(failures: ["the batchwise executable was not built next to the tests; run `swift build` first"])
        }
        let features = try KerasModelFile.load(FuzzTests.seedModel).model.inputFeatures
        let input = folder.appendingPathComponent("cli-input.h5")
        try HDF5File.atomicWrite(to: input) { try $0.write([Float](repeating: 0.25, count: 4 * features), shape: [4, features], to: "x") }
        let jobs = files.flatMap { file in
            [("inspect", file.index, ["inspect", file.path, "--isolation-timeout", probeTimeout]),
             ("predict", file.index, ["predict", "--model", file.path, "--input", input.path + ":/x",
                                      "--output", folder.appendingPathComponent("cli-out-\(file.index).h5").path + ":/y",
                                      "--isolation-timeout", probeTimeout])]
        }
        let box = TallyBox()
        DispatchQueue.concurrentPerform(iterations: jobs.count) { position in
            let (command, index, arguments) = jobs[position]
            let outcome: String
            var failure: String?
            do {
                let run = try ChildProcess.run(executable, arguments, deadline: 60)
                (outcome, failure) = classify(run, command: command)
            } catch {
                (outcome, failure) = ("not-started", "\(error)")
            }
            box.record("cli.\(command)=\(outcome)", failure: failure.map { "\(labels[index]): batchwise \(command): \($0)" })
        }
        return box.tally
    }

    final class TallyBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value = Tally()
        func record(_ outcome: String, failure: String?) {
            lock.withLock {
                value.runs += 1
                value.outcomes[outcome, default: 0] += 1
                if let failure { value.failures.append(failure) }
            }
        }
        var tally: Tally { lock.withLock { value } }
    }

    /// The outcome name, and a failure description unless the run ended cleanly.
    static func classify(_ run: ChildProcess, command: String) -> (String, String?) {
        if run.timedOut { return ("hung", "no exit within 60 s") }
        if let signal = run.signal { return ("crashed", "died by signal \(signal): \(run.stderr.prefix(300))") }
        let lines = run.stderr.split(separator: "\n")
        if run.status == 0 {
            return run.stderr.isEmpty ? ("ok", nil) : ("ok-with-output", "exit 0 but stderr: \(run.stderr.prefix(300))")
        }
        guard run.status == 1, lines.count == 1, lines[0].hasPrefix("batchwise \(command): ") else {
            return ("unclean", "exit \(run.status), stderr: \(run.stderr.prefix(300))")
        }
        if lines[0].contains("libhdf5 crashed") { return ("probe-caught-crash", nil) }
        if lines[0].contains("libhdf5 did not finish") { return ("probe-caught-hang", nil) }
        return ("typed-error", nil)
    }

    /// Who crashed the in-process helper, from the Swift runtime's crash report on stderr
    /// ("Thread 0 ... crashed:" then frame 0 "... in <image>"): "libhdf5"; "libc-memcpy"
    /// (a wild copy in glibc's memcpy/memmove; the unwinder cannot get past libhdf5, which
    /// has no frame pointers, and gdb put every such case in H5HG_read); "libc-heap" (glibc
    /// detected heap damage); "swift" (a Swift trap or any other frame: Batchwise's fault);
    /// "unknown". Only the first three are tolerated.
    static func crashOwner(_ report: String) -> String {
        if report.contains("Fatal error") || report.contains("Could not allocate") { return "swift" }
        let heapMessage = report.contains("malloc") || report.contains("free()") || report.contains("corrupted")
        let lines = report.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let crashed = lines.firstIndex(where: { $0.hasSuffix("crashed:") }),
              let frame = lines[(crashed + 1)...].first(where: { $0.hasPrefix("0 ") }) else {
            return heapMessage ? "libc-heap" : "unknown"
        }
        if frame.contains("libc.so") && (frame.contains("__mem") || frame.contains(" mem")) { return "libc-memcpy" }
        if frame.contains("libhdf5") { return "libhdf5" }
        if frame.contains("libc.so") && (report.contains("malloc") || report.contains("free()") || report.contains("corrupted")) {
            return "libc-heap"
        }
        return frame.contains("libc.so") ? "unknown" : "swift"
    }
}
