import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// This process's memory as Linux reports it under /proc/self, for the benchmarks that watch
/// memory (`soak`: resident size over time; `hdf5-stream`: peak resident size of one stream).
/// Every reading is `nil` where /proc is unavailable.
///
/// /proc files are read with open/read: Foundation's `String(contentsOfFile:)` leaks 4 KiB per
/// call on files that report size 0, as /proc files do, which would itself show up as growth.
///
/// ```swift
/// guard ProcessMemory.resetPeak(), let before = ProcessMemory.statusBytes("VmRSS:") else { return }
/// // ... the measured work ...
/// let growth = (ProcessMemory.statusBytes("VmHWM:") ?? before) - before
/// ```
enum ProcessMemory {
    /// Resident set size from /proc/self/statm (pages), in MiB.
    static func residentMiB() -> Double? {
        guard let text = contents(of: "/proc/self/statm", capacity: 128) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return nil }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    /// A `kB` field of /proc/self/status (`"VmRSS:"`, `"VmHWM:"`, ...) in bytes.
    static func statusBytes(_ field: String) -> Int? {
        contents(of: "/proc/self/status", capacity: 8_192).flatMap { kilobyteField(field, in: $0) }
    }

    /// Anonymous memory on transparent huge pages (`AnonHugePages` of /proc/self/smaps_rollup,
    /// Linux 4.14+), in bytes.
    static func anonymousHugePageBytes() -> Int? {
        contents(of: "/proc/self/smaps_rollup", capacity: 4_096).flatMap { kilobyteField("AnonHugePages:", in: $0) }
    }

    /// Resets the kernel's peak-RSS mark (`VmHWM`) to the current RSS (Linux 4.0+).
    static func resetPeak() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }

    /// The value of a `<field> <n> kB` line of a /proc file's text, in bytes.
    private static func kilobyteField(_ field: String, in text: String) -> Int? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
              let kilobytes = Int(line.dropFirst(field.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        else { return nil }
        return kilobytes * 1_024
    }

    /// Up to `capacity` bytes of a /proc file as text, in one read(2).
    private static func contents(of path: String, capacity: Int) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: capacity)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}
