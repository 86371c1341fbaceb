import Foundation
import Testing

/// `scripts/check-doc-coverage.swift` (run by `make docs`) must fail on an undocumented public
/// symbol of ours and ignore synthesized members and other modules' symbols.
@Suite struct DocCoverageCheckTests {
    static let script = FuzzTests.repository.appendingPathComponent("scripts/check-doc-coverage.swift")

    /// A one-module symbol graph: `Widget.size` (documented or not), a synthesized
    /// `hashValue` (no location) and a symbol declared outside `Sources/`.
    static func graph(documented: Bool, sources: URL) -> String {
        let uri = sources.appendingPathComponent("Widgets/Widget.swift").absoluteString
        let comment = documented ? #", "docComment": {"lines": [{"text": "How big it is."}]}"# : ""
        return """
        {"module": {"name": "Widgets"}, "symbols": [
          {"kind": {"identifier": "swift.property"}, "pathComponents": ["Widget", "size"], "accessLevel": "public",
           "location": {"uri": "\(uri)", "position": {"line": 11, "character": 4}}\(comment)},
          {"kind": {"identifier": "swift.property"}, "pathComponents": ["Widget", "hashValue"], "accessLevel": "public"},
          {"kind": {"identifier": "swift.func"}, "pathComponents": ["elsewhere"], "accessLevel": "public",
           "location": {"uri": "file:///opt/other/Elsewhere.swift", "position": {"line": 1, "character": 0}}},
          {"kind": {"identifier": "swift.func"}, "pathComponents": ["hidden"], "accessLevel": "internal",
           "location": {"uri": "\(uri)", "position": {"line": 20, "character": 0}}}
        ]}
        """
    }

    static func check(documented: Bool) throws -> (status: Int32, output: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("doc-coverage-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let graphs = folder.appendingPathComponent("graphs"), sources = folder.appendingPathComponent("Sources")
        try FileManager.default.createDirectory(at: graphs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: sources, withIntermediateDirectories: true)
        try Data(graph(documented: documented, sources: sources).utf8).write(to: graphs.appendingPathComponent("Widgets.symbols.json"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", script.path, graphs.path, sources.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test(.timeLimit(.minutes(2)))
    func anUndocumentedPublicSymbolFailsTheCheckAndIsNamed() throws {
        let result = try Self.check(documented: false)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("Sources/Widgets/Widget.swift:12: Widgets: property Widget.size"), "\(result.output)")
        #expect(!result.output.contains("hashValue") && !result.output.contains("elsewhere") && !result.output.contains("hidden"))
    }

    @Test(.timeLimit(.minutes(2)))
    func documentedSymbolsPassTheCheck() throws {
        let result = try Self.check(documented: true)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("all 1 public symbols"), "\(result.output)")
    }
}
