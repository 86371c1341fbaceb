import Foundation

/// One row of every `batchwise-bench` report: a workload measured in Batchwise and in its
/// Python peer, in the same unit, with `ratio` > 1 meaning Batchwise is better (for times,
/// the ratio is peer / batchwise).
struct BenchRow: Codable {
    var workload: String
    var batchwise: Double?
    var peer: Double?
    var unit: String
    var ratio: Double?

    /// A row whose ratio follows the unit: rates compare batchwise/peer, times peer/batchwise.
    init(workload: String, batchwise: Double?, peer: Double?, unit: String, lowerIsBetter: Bool = false) {
        self.workload = workload
        self.batchwise = batchwise
        self.peer = peer
        self.unit = unit
        if let ours = batchwise, let theirs = peer, ours > 0, theirs > 0 {
            ratio = lowerIsBetter ? theirs / ours : ours / theirs
        }
    }
}

enum BenchReport {
    /// An aligned text table of rows.
    static func table(_ rows: [BenchRow]) -> String {
        func number(_ value: Double?) -> String {
            guard let value else { return "-" }
            return abs(value) >= 100 ? String(format: "%.0f", value) : String(format: "%.3g", value)
        }
        func ratio(_ value: Double?) -> String { value.map { String(format: "%.2fx", $0) } ?? "-" }
        let width = max(8, rows.map(\.workload.count).max() ?? 8)
        func pad(_ text: String, _ count: Int, left: Bool = false) -> String {
            let space = String(repeating: " ", count: max(0, count - text.count))
            return left ? text + space : space + text
        }
        var lines = [pad("workload", width, left: true) + pad("batchwise", 12) + pad("peer", 12) + "  "
                     + pad("unit", 12, left: true) + pad("ratio", 10)]
        for row in rows {
            lines.append(pad(row.workload, width, left: true) + pad(number(row.batchwise), 12)
                         + pad(number(row.peer), 12) + "  " + pad(row.unit, 12, left: true) + pad(ratio(row.ratio), 10))
        }
        return lines.joined(separator: "\n")
    }

    /// The rows as one JSON array (sorted keys, so output is stable).
    static func json(_ rows: [BenchRow]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }
}

/// Runs a Python peer script that prints one JSON object on stdout.
enum PeerScript {
    /// The script's path: as given if it exists, else relative to the working directory, else
    /// relative to this source tree (so `swift run` works from anywhere in a checkout).
    static func locate(_ relative: String) -> String? {
        let manager = FileManager.default
        if manager.fileExists(atPath: relative) { return relative }
        // This file is Benchmarks/Sources/BatchwiseBench/BenchSupport.swift: four levels below the checkout.
        var checkout = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { checkout.deleteLastPathComponent() }
        let fromSource = checkout.appendingPathComponent(relative).path
        return manager.fileExists(atPath: fromSource) ? fromSource : nil
    }

    /// The parsed JSON object, or `nil` with a note on stderr when python3, its modules or
    /// the script are missing or fail.
    static func run(_ relative: String, arguments: [String] = []) -> [String: Any]? {
        guard let data = output(relative, arguments: arguments) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            note("peer \(relative) printed something other than one JSON object")
            return nil
        }
        return object
    }

    /// The script's standard output, or `nil` with a note on stderr when it cannot run or fails.
    static func output(_ relative: String, arguments: [String] = []) -> Data? {
        guard let path = locate(relative) else {
            note("peer script \(relative) not found; measuring Batchwise only")
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", dieWithParentPrologue, String(getpid()), path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["TF_CPP_MIN_LOG_LEVEL"] = "2"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            note("cannot start python3 for \(relative): \(error.localizedDescription)")
            return nil
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            note("peer \(relative) failed (exit status \(process.terminationStatus)); is its Python package installed?")
            return nil
        }
        return data
    }

    /// Runs `python3 -c` with it, then the peer script: on Linux it first asks the kernel to
    /// kill the peer (PR_SET_PDEATHSIG, through ctypes) when this process ends, so a killed
    /// `batchwise-bench` leaves no TensorFlow run behind; then it checks that its parent is
    /// still the pid in argv[1] (the parent may have died before prctl). Elsewhere a killed
    /// bench's peer runs to its end (at most a few minutes; it writes nothing).
    /// `output(_:arguments:)` spawns and waits on one thread, as PR_SET_PDEATHSIG requires.
    static let dieWithParentPrologue = """
        import ctypes, os, runpy, signal, sys
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            if os.getppid() != int(sys.argv[1]):
                os._exit(1)
        sys.argv = sys.argv[2:]
        sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))  # as `python3 script.py` has it
        runpy.run_path(sys.argv[0], run_name="__main__")
        """

    /// `object[workload]["value"]` as a number, the shape every peer prints.
    static func value(_ object: [String: Any]?, _ workload: String) -> Double? {
        (object?[workload] as? [String: Any])?["value"] as? Double
    }

    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
