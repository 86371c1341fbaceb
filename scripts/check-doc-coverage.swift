// Fails when a public or open symbol that this package declares has no doc comment.
//
//   swift package dump-symbol-graph --minimum-access-level public
//   swift scripts/check-doc-coverage.swift .build/<triple>/symbolgraph Sources
//
// (scripts/build-docs.sh runs both.) DocC itself warns only about broken links and
// undocumented parameters, never about a symbol with no comment at all, hence this check.
//
// The rule: every symbol in the symbol graphs with access level public or open whose source
// location lies under SOURCES must have a non-empty doc comment. Symbols without a location
// are compiler-synthesized (Equatable's ==, Hashable's hash(into:), CaseIterable's allCases)
// or come from other modules (the members of Int8 listed because Int8 conforms to one of our
// protocols); they are skipped. A member that implements a documented protocol requirement
// inherits that comment in the symbol graph, as DocC shows it, so it counts as documented.
// Test targets' graphs are ignored.
import Foundation

struct Graph: Decodable {
    struct Symbol: Decodable {
        struct Kind: Decodable { let identifier: String }
        struct Location: Decodable {
            struct Position: Decodable { let line: Int }
            let uri: String
            let position: Position
        }
        struct DocComment: Decodable {
            struct Line: Decodable { let text: String }
            let lines: [Line]
        }
        let kind: Kind
        let pathComponents: [String]
        let accessLevel: String
        let location: Location?
        let docComment: DocComment?
    }
    struct Module: Decodable { let name: String }
    let module: Module
    let symbols: [Symbol]
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: check-doc-coverage.swift SYMBOLGRAPH_DIR SOURCES_DIR\n".utf8))
    exit(2)
}
let graphs = URL(fileURLWithPath: arguments.first!)
let sources = URL(fileURLWithPath: arguments.last!).standardizedFileURL.path + "/"
let files = (try? FileManager.default.contentsOfDirectory(atPath: graphs.path)) ?? []
let graphFiles = files.filter { $0.hasSuffix(".symbols.json") && !$0.hasPrefix("BatchwisePackage") }.sorted()
guard !graphFiles.isEmpty else {
    FileHandle.standardError.write(Data("check-doc-coverage: no symbol graphs in \(graphs.path)\n".utf8))
    exit(2)
}

var checked = 0
var missing: [String] = []
for name in graphFiles {
    let graph: Graph
    do {
        graph = try JSONDecoder().decode(Graph.self, from: Data(contentsOf: graphs.appendingPathComponent(name)))
    } catch {
        FileHandle.standardError.write(Data("check-doc-coverage: cannot read \(name): \(error)\n".utf8))
        exit(2)
    }
    for symbol in graph.symbols where ["public", "open"].contains(symbol.accessLevel) {
        guard let location = symbol.location,
              let path = URL(string: location.uri)?.standardizedFileURL.path, path.hasPrefix(sources) else { continue }
        checked += 1
        let text = symbol.docComment?.lines.map(\.text).joined().trimmingCharacters(in: .whitespaces) ?? ""
        if text.isEmpty {
            let file = String(path.dropFirst(sources.count))
            missing.append("Sources/\(file):\(location.position.line + 1): \(graph.module.name): "
                + "\(symbol.kind.identifier.replacingOccurrences(of: "swift.", with: "")) "
                + symbol.pathComponents.joined(separator: "."))
        }
    }
}
for line in Set(missing).sorted() { print(line) }
if missing.isEmpty {
    print("check-doc-coverage: all \(checked) public symbols declared in Sources/ have doc comments")
} else {
    print("check-doc-coverage: \(Set(missing).count) of \(checked) public symbols declared in Sources/ have no doc comment")
    exit(1)
}
