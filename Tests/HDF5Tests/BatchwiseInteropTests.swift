import Foundation
import Testing
@testable import HDF5

@Suite("Files Batchwise writes are readable by h5dump (and h5py, see check_batchwise_file.py)")
struct BatchwiseInteropTests {
    /// The installed h5dump (hdf5-tools; `make deps` installs it), if any.
    static let h5dumpTool: String? = ["/usr/bin/h5dump", "/usr/local/bin/h5dump", "/opt/homebrew/bin/h5dump"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs h5dump (the test that calls it is skipped where it is not installed).
    private func h5dump(_ arguments: [String]) throws -> String {
        let tool = try #require(Self.h5dumpTool)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The numbers inside h5dump's `DATA { (0): 1, 2, ... }` block, as text.
    private func dataValues(_ dump: String) -> [String] {
        guard let start = dump.range(of: "DATA {") else { return [] }
        let body = dump[start.upperBound...].prefix { $0 != "}" }
        return body.split(separator: "\n").flatMap { line -> [String] in
            let values = line.split(separator: ":", maxSplits: 1).last ?? ""
            return values.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    @Test(.enabled(if: Self.h5dumpTool != nil, "needs h5dump (hdf5-tools, installed by `make deps`)"))
    func h5dumpReadsTheValuesAndTypesBatchwiseWrote() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("sample.h5")
            try BatchwiseSample.write(to: url)
            if ProcessInfo.processInfo.environment["BATCHWISE_REGENERATE_FIXTURES"] == "1" {
                try? FileManager.default.removeItem(at: Fixtures.batchwiseWritten)
                try FileManager.default.copyItem(at: url, to: Fixtures.batchwiseWritten)
            }
            let int64 = try h5dump(["-d", "/numeric/int64", url.path])
            #expect(dataValues(int64) == ["-9223372036854775808", "0", "1", "9223372036854775807"])
            let uint64 = try h5dump(["-d", "/numeric/uint64", url.path])
            #expect(dataValues(uint64) == ["0", "0", "1", "18446744073709551615"])
            let floats = try h5dump(["-d", "/numeric/float32", url.path])
            #expect(dataValues(floats).compactMap(Double.init) == (0..<12).map { Double($0) * 0.25 - 1.5 })
            let extendible = try h5dump(["-d", "/extendible", url.path])
            #expect(dataValues(extendible) == ["0", "1", "2", "3", "4", "5"])
            #expect(extendible.contains("( 3, 2 ) / ( H5S_UNLIMITED, 2 )"))
            let bools = try h5dump(["-d", "/numeric/bool", url.path])
            #expect(bools.contains("H5T_ENUM"))
            #expect(dataValues(bools) == ["TRUE", "FALSE", "TRUE", "FALSE", "FALSE", "TRUE"])
            let header = try h5dump(["-H", "-p", "-d", "/compressed/gzip_shuffle", url.path])
            #expect(header.contains("COMPRESSION DEFLATE { LEVEL 4 }"))
            #expect(header.contains("SHUFFLE"))
            let title = try h5dump(["-a", "/title", url.path])
            #expect(title.contains("H5T_VARIABLE"))
            #expect(title.contains("\"batchwise sample "))  // h5dump escapes the non-ASCII tail
        }
    }

    @Test func theCommittedBatchwiseSampleStillReadsBack() throws {
        let file = try HDF5File.open(at: Fixtures.batchwiseWritten)
        #expect(try file.read("numeric/uint64", as: UInt64.self).values == [0, 0, 1, UInt64.max])
        #expect(try file.readAttribute("layer_names", as: [String].self) == ["dense", "batch_normalization"])
        #expect(try file.read("extendible", as: Float.self).shape == [3, 2])
    }
}
