// Fails when a ```swift code block in the documentation does not compile.
//
//   swift scripts/check-doc-snippets.swift PRELUDE OUTPUT_DIR PATH... [-- SWIFTC_ARGUMENT...]
//
// (scripts/build-docs.sh runs it on README.md and Sources/ with the package's debug modules.)
// Every ```swift block in a Markdown file (README.md, the DocC articles Sources/*/*.docc/*.md)
// and in a `///` doc comment of a Swift file under a PATH directory is extracted. Snippets are
// fragments: each becomes the body of its own `async throws` function in its own file, with
// its `import` lines moved to the top of that file (a snippet without imports gets PRELUDE's).
// Names a fragment uses but does not declare (`url`, `model`, `snapshot`, ...) come from
// PRELUDE, which declares each once with the type the documentation means by it; a snippet
// that means something else by a name declares it itself. All snippets are type-checked in one
// `swiftc -typecheck` run (a few seconds), and `#sourceLocation` makes every error name the
// documentation file and line. A block that is deliberately not Swift (output, pseudo-code)
// is fenced as ```text instead. A package manifest (first line `// Package.swift` or
// `// swift-tools-version:...`) is skipped: only SwiftPM provides its PackageDescription.
import Foundation

struct Snippet {
    let file: String
    /// The line (1-based) of the snippet's first code line in `file`.
    let firstLine: Int
    var lines: [String]
}

/// The ```swift blocks of `text`; `docCommentsOnly` reads a Swift file's `///` lines only.
func snippets(in text: String, file: String, docCommentsOnly: Bool) -> [Snippet] {
    var found: [Snippet] = []
    var open: Snippet?
    var fenceIndent = 0
    for (index, rawLine) in text.components(separatedBy: "\n").enumerated() {
        var line = Substring(rawLine)
        if docCommentsOnly {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard trimmed.hasPrefix("///") else {
                if let unfinished = open {   // a doc comment ended inside a block: report it as is
                    found.append(unfinished)
                    open = nil
                }
                continue
            }
            line = trimmed.dropFirst(3)
        }
        let content = line.drop { $0 == " " }
        if open == nil {
            if content == "```swift" {
                fenceIndent = line.count - content.count
                open = Snippet(file: file, firstLine: index + 2, lines: [])
            }
        } else if content == "```" {
            found.append(open!)
            open = nil
        } else {
            // Drop the fence's own indentation (a block inside a list item, or `/// ` plus one).
            let indent = line.prefix { $0 == " " }.count
            open!.lines.append(String(line.dropFirst(min(indent, fenceIndent))))
        }
    }
    if let unfinished = open { found.append(unfinished) }
    return found
}

func markdownAndSwiftFiles(under path: String) -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
    guard isDirectory.boolValue else { return [path] }
    let walker = FileManager.default.enumerator(atPath: path)
    var files: [String] = []
    while let relative = walker?.nextObject() as? String {
        if relative.hasSuffix(".swift") || relative.hasSuffix(".md") {
            files.append((path as NSString).appendingPathComponent(relative))
        }
    }
    return files.sorted()
}

func isManifest(_ snippet: Snippet) -> Bool {
    let first = snippet.lines.first { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
    return first.hasPrefix("// Package.swift") || first.hasPrefix("// swift-tools-version")
}

func isImport(_ line: String) -> Bool {
    let words = line.split(separator: " ")
    return words.first == "import" || (words.first == "@testable" && words.dropFirst().first == "import")
}

/// A file holding `snippet` as the body of `function`; its imports (or `defaultImports`)
/// on top, every other line at its original line number.
func wrapped(_ snippet: Snippet, as function: String, defaultImports: [String]) -> String {
    let imports = snippet.lines.filter(isImport)
    let body = snippet.lines.map { isImport($0) ? "" : $0 }
    // A string literal escapes the path exactly as #sourceLocation needs it.
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    let path = String(decoding: try! encoder.encode(snippet.file), as: UTF8.self)
    return ((imports.isEmpty ? defaultImports : imports)
        + ["func \(function)() async throws {", "#sourceLocation(file: \(path), line: \(snippet.firstLine))"]
        + body
        + ["#sourceLocation()", "}", ""]).joined(separator: "\n")
}

var arguments = Array(CommandLine.arguments.dropFirst())
var compilerArguments: [String] = []
if let separator = arguments.firstIndex(of: "--") {
    compilerArguments = Array(arguments[(separator + 1)...])
    arguments = Array(arguments[..<separator])
}
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: check-doc-snippets.swift PRELUDE OUTPUT_DIR PATH... [-- SWIFTC_ARGUMENT...]\n".utf8))
    exit(2)
}
let prelude = arguments[0], output = URL(fileURLWithPath: arguments[1])
let preludeText: String
do {
    preludeText = try String(contentsOfFile: prelude, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("check-doc-snippets: cannot read the prelude \(prelude): \(error)\n".utf8))
    exit(2)
}
let defaultImports = preludeText.components(separatedBy: "\n").filter(isImport)

var all: [Snippet] = []
for path in arguments[2...] {
    for file in markdownAndSwiftFiles(under: path) {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
        all += snippets(in: text, file: file, docCommentsOnly: file.hasSuffix(".swift")).filter { !isManifest($0) }
    }
}
guard !all.isEmpty else {
    FileHandle.standardError.write(Data("check-doc-snippets: no ```swift blocks under \(arguments[2...].joined(separator: " "))\n".utf8))
    exit(2)
}

try? FileManager.default.removeItem(at: output)
try! FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
var sources = [output.appendingPathComponent("Prelude.swift").path]
try! Data(preludeText.utf8).write(to: URL(fileURLWithPath: sources[0]))
for (index, snippet) in all.enumerated() {
    let url = output.appendingPathComponent("Snippet\(index).swift")
    try! Data(wrapped(snippet, as: "snippet\(index)", defaultImports: defaultImports).utf8).write(to: url)
    sources.append(url.path)
}

let compiler = Process()
compiler.executableURL = URL(fileURLWithPath: "/usr/bin/env")
compiler.arguments = ["swiftc", "-typecheck", "-parse-as-library", "-module-name", "DocSnippets",
                      "-suppress-warnings", "-diagnostic-style", "llvm", "-continue-building-after-errors"] + compilerArguments + sources
let pipe = Pipe()
compiler.standardOutput = pipe
compiler.standardError = pipe
do {
    try compiler.run()
} catch {
    FileHandle.standardError.write(Data("check-doc-snippets: cannot run swiftc: \(error)\n".utf8))
    exit(2)
}
let diagnostics = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
compiler.waitUntilExit()

// "FILE:LINE:COLUMN: error: ..." lines, each attributed to the snippet that holds LINE.
let errors = diagnostics.components(separatedBy: "\n").filter { $0.contains(": error: ") }
var failing = Set<Int>()
for error in errors {
    let parts = error.split(separator: ":", maxSplits: 2)
    guard parts.count == 3, let line = Int(parts[1]) else { continue }
    if let index = all.firstIndex(where: { $0.file == parts[0] && (($0.firstLine)..<($0.firstLine + $0.lines.count)).contains(line) }) {
        failing.insert(index)
    }
}
if compiler.terminationStatus == 0 {
    print("check-doc-snippets: all \(all.count) Swift snippets compile")
} else {
    print(errors.isEmpty ? diagnostics : errors.joined(separator: "\n"))
    print("check-doc-snippets: \(max(failing.count, 1)) of \(all.count) Swift snippets do not compile "
        + "(generated files in \(output.path))")
    exit(1)
}
