import Foundation
import Testing

/// `scripts/check-doc-snippets.swift` (run by `make docs`) must fail on a Swift snippet of an
/// article or a doc comment that does not compile, naming the documentation file and line,
/// and pass fragments that use the prelude's names.
@Suite struct DocSnippetCheckTests {
    static let script = FuzzTests.repository.appendingPathComponent("scripts/check-doc-snippets.swift")

    /// An article and a Swift file with a doc comment, each with one ```swift block; `broken`
    /// makes the doc comment's snippet pass a String where the prelude's `count` is an Int.
    static func check(broken: Bool) throws -> (status: Int32, output: String, article: URL, source: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("doc-snippets-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let docs = folder.appendingPathComponent("Sources")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        let prelude = folder.appendingPathComponent("Prelude.swift")
        try Data("""
            import Foundation

            var count: Int { fatalError() }
            func twice(_ value: Int) -> Int { 2 * value }
            """.utf8).write(to: prelude)
        let article = docs.appendingPathComponent("Article.md"), source = docs.appendingPathComponent("Widget.swift")
        try Data("""
            # Article

            - A list item with a block:

              ```swift
              import Foundation
              let doubled = twice(count)
              print(URL(fileURLWithPath: "/tmp"), doubled)
              ```

            ```text
            not Swift at all
            ```
            """.utf8).write(to: article)
        try Data("""
            /// A widget.
            ///
            /// ```swift
            /// let size = twice(\(broken ? "\"\\(count)\"" : "count"))
            /// print(size)
            /// ```
            struct Widget {}
            """.utf8).write(to: source)
        let run = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"),
                                       ["swift", script.path, prelude.path, folder.appendingPathComponent("generated").path, docs.path],
                                       deadline: 150, captureStandardOutput: true)
        return (run.timedOut ? -1 : run.status, run.stdout + run.stderr, article, source)
    }

    @Test(.timeLimit(.minutes(3)))
    func aSnippetThatDoesNotCompileFailsTheCheckAndIsNamed() throws {
        let result = try Self.check(broken: true)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("\(result.source.path):4:"), "\(result.output)")
        #expect(result.output.contains("1 of 2 Swift snippets do not compile"), "\(result.output)")
        #expect(!result.output.contains(result.article.path), "\(result.output)")
    }

    @Test(.timeLimit(.minutes(3)))
    func fragmentsUsingThePreludeCompile() throws {
        let result = try Self.check(broken: false)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("all 2 Swift snippets compile"), "\(result.output)")
    }
}
