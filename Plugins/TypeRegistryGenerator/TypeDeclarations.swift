import Foundation

/// One `struct`, `class`, `enum`, `actor`, `protocol` or `extension` header of a Swift file,
/// with what it inherits or conforms to.
struct TypeDeclaration {
    /// `struct`, `class`, `enum`, `actor`, `protocol` or `extension`.
    let kind: String
    /// The name with its enclosing types (`Outer.Inner`), the module prefix dropped.
    let name: String
    /// The inheritance clause's names, generic arguments and attributes dropped (`Layer`, `Sendable`).
    let inherited: [String]
    /// Why code elsewhere in the module cannot name the type (`private`, generic, local); nil when it can.
    let unreachable: String?
    let file: String
    let line: Int

    var isConcreteType: Bool { ["struct", "class", "enum", "actor"].contains(kind) }
}

extension TypeDeclaration {
    /// A header up to its `{`: (1) modifiers and attributes, (2) the keyword, (3) the name,
    /// (4) generic parameters, (5) the inheritance clause; a `where` clause is skipped. The
    /// lookahead keeps `class var x: Int {` from reading as a class named `var`.
    private static let header = try! NSRegularExpression(pattern: #"""
        (?<![\w.])((?:(?:public|package|internal|private|fileprivate|open|final|indirect|nonisolated|@[\w.]+(?:\([^()]*\))?)\s+)*)\
        (struct|class|enum|actor|protocol|extension)\s+(?!(?:var|let|func|subscript|init|deinit|case|static)\b)\
        ([A-Za-z_][\w.]*)\s*(<[^{]*?>)?\s*(?::\s*([^{]*?))?\s*(?:\bwhere\b[^{]*)?\{
        """#.replacingOccurrences(of: "\\\n", with: ""))

    /// Every type header of one file; `module` is the prefix dropped from qualified names (`Training.Layer`).
    static func scan(_ source: [UInt8], file: String, module: String) -> [TypeDeclaration] {
        let code = CodeOnlyText(source).bytes
        let text = String(decoding: code, as: UTF8.self) as NSString
        let matches = header.matches(in: text as String, range: NSRange(location: 0, length: text.length))
        // The brace opening each header's body, by UTF-16 offset, to find enclosing declarations.
        var headerAtBrace: [Int: NSTextCheckingResult] = [:]
        for match in matches { headerAtBrace[match.range.location + match.range.length - 1] = match }

        var declarations: [TypeDeclaration] = []
        // What each open brace belongs to: a header (its name and whether it is reachable) or other code.
        var scopes: [(name: String, unreachable: String?)?] = []
        var line = 1
        let units = Array((text as String).utf16)
        for offset in units.indices {
            switch units[offset] {
            case UInt16(UInt8(ascii: "\n")): line += 1
            case UInt16(UInt8(ascii: "}")): _ = scopes.popLast()
            case UInt16(UInt8(ascii: "{")):
                guard let match = headerAtBrace[offset] else { scopes.append(nil); continue }
                let part = { (index: Int) -> String? in
                    let range = match.range(at: index)
                    return range.location == NSNotFound ? nil : text.substring(with: range)
                }
                let modifiers = part(1) ?? "", kind = part(2)!, written = strip(module: module, from: part(3)!)
                let enclosing = scopes.compactMap { $0 }
                let name = kind == "extension" || enclosing.isEmpty
                    ? written : enclosing.last!.name + "." + written
                var unreachable: String?
                if scopes.contains(where: { $0 == nil }) {
                    unreachable = "it is declared inside a function or other code block"
                } else if let outer = enclosing.last?.unreachable {
                    unreachable = outer
                } else if let access = ["fileprivate", "private"].first(where: { modifiers.contains($0 + " ") }) {
                    unreachable = "it is \(access)"
                } else if part(4) != nil {
                    unreachable = "it is generic"
                }
                let headerLine = line - (text.substring(with: match.range).filter { $0 == "\n" }.count)
                declarations.append(TypeDeclaration(
                    kind: kind, name: name, inherited: inheritedNames(part(5) ?? "", module: module),
                    unreachable: unreachable, file: file, line: headerLine))
                scopes.append((name, unreachable))
            default: continue
            }
        }
        return declarations
    }

    /// `Training.Layer` → `Layer`.
    private static func strip(module: String, from name: String) -> String {
        name.hasPrefix(module + ".") ? String(name.dropFirst(module.count + 1)) : name
    }

    /// `Layer, @unchecked Sendable, Foo<Bar> & Baz` → `["Layer", "Sendable", "Foo", "Baz"]`.
    private static func inheritedNames(_ clause: String, module: String) -> [String] {
        var depth = 0, current = "", names: [String] = []
        func finish() {
            let words = current.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
                .filter { !$0.hasPrefix("@") }
            if let last = words.last { names.append(strip(module: module, from: String(last.drop { $0 == "~" }))) }
            current = ""
        }
        for character in clause {
            if character == "<" { depth += 1 }
            if character == ">" { depth -= 1 }
            guard depth == 0, character != ">" else { continue }
            if character == "," || character == "&" { finish() } else { current.append(character) }
        }
        finish()
        return names
    }
}
