import Foundation
import Testing
import CheckpointsTestSupport

/// `batchwise inspect` and `predict` on files from other producers
/// (fixtures/hdf5-real-world): bad links and unreadable objects are marked in the listing,
/// exit status 0 unless `--strict`; unavailable filters are named.
@Suite struct CLIRealWorldInspectTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/hdf5-real-world")

    /// Runs `batchwise` with `arguments`; returns (status, stdout, stderr).
    private func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        guard let executable = NativeProcessResumeTests.executable() else {
            Issue.record("the batchwise executable was not built next to the tests; run `swift build` first")
            return (-1, "", "")
        }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("inspect-\(UUID().uuidString).out")
        #expect(FileManager.default.createFile(atPath: output.path, contents: nil))
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = try FileHandle(forWritingTo: output)
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: try Data(contentsOf: output), as: UTF8.self), text)
    }

    private func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    @Test func badLinksAreMarkedAndTheFileStillExitsZeroWithAndWithoutIsolation() throws {
        for isolation in [[], ["--no-isolation"]] {
            let (status, stdout, stderr) = try run(["inspect", fixture("links.h5")] + isolation)
            #expect(status == 0 && stderr.isEmpty, "\(stderr)")
            #expect(stdout.contains("\n      missing  -> /no/such/path  (soft link)  ERROR: open object failed:"))
            #expect(stdout.contains("\n      dotdot  -> ..  (soft link)  ERROR: "))
            #expect(stdout.contains("\n    missing_file  -> does_not_exist.h5:/x  (external link)  ERROR: open object failed: unable to open object (H5L__extern_traverse: unable to open external file, external link file name = 'does_not_exist.h5')\n"))
            #expect(stdout.contains("\n    present  -> links_target.h5:/payload  int32 [2, 3]  contiguous  (external link)\n"))
            #expect(stdout.contains("\n      back  (group, same as /cycle)\n"))
            #expect(stdout.hasSuffix("\n  zzz_after  uint8 [2]  contiguous\n"))
        }
    }

    /// The `summary` of a Keras file is written by the same JSON writer as the rest of the
    /// line (issue 14 item 7): a `/` in it is not escaped as `\/` (JSONEncoder did that).
    @Test func jsonOfAKerasFileIsOneObjectWrittenOneWay() throws {
        let keras = Self.fixtures.deletingLastPathComponent().appendingPathComponent("keras-models/unsupported_activation.keras")
        let (status, stdout, stderr) = try run(["inspect", "--json", keras.path])
        #expect(status == 0 && stderr.isEmpty, "\(stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        let summary = try #require(root["summary"] as? String)
        #expect(summary.contains(keras.path + "/config.json: layer 'dense' (Dense): option activation = gelu"))
        #expect(stdout.hasPrefix(#"{"summary": "(no model summary: "# + keras.path + "/config.json: "))
        #expect(!stdout.contains(#"\/"#))
    }

    @Test func jsonCarriesLinkSameAsAndErrorKeys() throws {
        let (status, stdout, stderr) = try run(["inspect", "--json", fixture("links.h5")])
        #expect(status == 0 && stderr.isEmpty, "\(stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        var nodes: [String: [String: Any]] = [:]
        func collect(_ node: [String: Any]) {
            nodes[node["path"] as? String ?? "?"] = node
            for child in node["children"] as? [[String: Any]] ?? [] { collect(child) }
        }
        collect(root)
        #expect(nodes.count == 18)
        let missing = try #require(nodes["/ext/missing_file"])
        #expect(missing["kind"] as? String == "unknown")
        #expect(missing["link"] as? [String: String] == ["kind": "external", "target": "/x", "file": "does_not_exist.h5"])
        #expect((missing["error"] as? String)?.contains("does_not_exist.h5") == true)
        #expect(nodes["/cycle/a/back"]?["same_as"] as? String == "/cycle")
        #expect(nodes["/data/grp/dotdot"]?["link"] as? [String: String] == ["kind": "soft", "target": ".."])
        #expect(nodes["/ext/present"]?["shape"] as? [Int] == [2, 3])
        #expect(nodes.values.filter { $0["error"] != nil }.count == 4)
    }

    @Test func strictTurnsMarkersIntoExitOneAfterPrintingTheListing() throws {
        for isolation in [[], ["--no-isolation"]] {
            let (status, stdout, stderr) = try run(["inspect", "--strict", fixture("links.h5")] + isolation)
            #expect(status == 1)
            #expect(stdout.contains("zzz_after"))
            #expect(stderr.hasPrefix("batchwise inspect: --strict: 4 object(s) or attribute(s) could not be read: /data/grp/dotdot ("), "\(stderr)")
            #expect(stderr.filter { $0 == "\n" }.count == 1)
            let clean = try run(["inspect", "--strict", fixture("netcdf4.nc")] + isolation)
            #expect(clean.status == 0 && clean.stderr.isEmpty && clean.stdout.contains("DIMENSION_SCALE"))
        }
    }

    @Test func anObjectInANewerFormatIsMarkedWithTheLibraryVersionAndFeature() throws {
        let (status, stdout, stderr) = try run(["inspect", fixture("newer_format.h5")])
        #expect(status == 0 && stderr.isEmpty, "\(stderr)")
        #expect(stdout.contains("\n  virtual  ERROR: written in a newer HDF5 format than the linked libhdf5 1."))
        #expect(stdout.contains("(dataset layout message (e.g. a virtual dataset or a newer chunk index): bad version # of encoded VDS heap information"))
        #expect(stdout.contains("\n  source  int32 [8]  contiguous"))
    }

    @Test func textEscapesControlCharactersAndShowsComplexEnumAndNull() throws {
        let (status, stdout, _) = try run(["inspect", fixture("types.h5")])
        #expect(status == 0)
        #expect(stdout.contains(#"  @control = "line1\nline2\ttab\u001b[31mred""#))
        #expect(!stdout.contains("\u{1b}") && !stdout.contains("\r") && !stdout.contains("\t"))
        #expect(stdout.contains("  complex64  complex64 [2]  contiguous"))
        #expect(stdout.contains("  enum  enum(int16){BLUE: 42, GREEN: 1, RED: 0} [3]  contiguous\n    @favourite = BLUE"))
        #expect(stdout.contains("  null  float32 NULL  contiguous"))
        #expect(stdout.contains("  @cube = [[[0.0, 1.0], [2.0, 3.0]], [[4.0, 5.0], [6.0, 7.0]]]"))
    }

    @Test func predictNamesTheUnavailableFilterAndTheDataset() throws {
        let folder = try DataFileFixtures.folder()
        for dataset in ["lzf", "blosc"] {
            let (status, _, stderr) = try run(["predict", "--model", folder.appendingPathComponent("m.keras").path,
                                               "--input", fixture("filters.h5") + ":/\(dataset)",
                                               "--output", folder.appendingPathComponent("p.h5").path + ":/p"])
            #expect(status == 1)
            #expect(stderr.hasPrefix("batchwise predict: HDF5: \(fixture("filters.h5")):/\(dataset) is stored with the \(dataset) filter (id \(dataset == "lzf" ? 32000 : 32001))"), "\(stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("p.h5").path))
        }
    }
}
