/// The indented text tree printed by `batchwise inspect`.
extension HDF5Node {
    /// One line per object, children indented, attributes listed under their object:
    ///
    ///     /  (group)
    ///       @backend = "swift"
    ///       dense/  (group)
    ///         kernel  float32 [4, 3]  chunks [4, 3]  shuffle, gzip(4)
    ///       alias  -> /dense/kernel  float32 [4, 3]  chunks [4, 3]  shuffle, gzip(4)  (soft link)
    ///       gone  -> /nowhere  (soft link)  ERROR: ...
    ///       loop  (group, same as /)
    ///
    /// Names, link targets and string values are printed with control characters escaped.
    public func renderedText() -> String {
        var lines: [String] = []
        render(into: &lines, depth: 0)
        return lines.joined(separator: "\n")
    }

    private func render(into lines: inout [String], depth: Int) {
        let indent = String(repeating: "  ", count: depth)
        let shownName = Self.escaped(path == "/" ? "/" : name)
        var line = indent + shownName
        if let link { line += "  " + Self.escaped(link.arrow) }
        switch kind {
        case .group where sameAs == nil && error == nil:
            line = indent + (path == "/" ? "/" : shownName + "/") + (link.map { "  " + Self.escaped($0.arrow) } ?? "")
            line += link.map { "  (group, \($0.kind.rawValue) link)" } ?? "  (group)"
        case .dataset where isDescribedDataset:
            line += "  " + (dtype ?? "?") + " " + (shape.map { "\($0)" } ?? "NULL")
            line += chunks.map { "  chunks \($0)" } ?? "  contiguous"
            if let filters, !filters.isEmpty { line += "  " + filters.joined(separator: ", ") }
            if let link { line += "  (\(link.kind.rawValue) link)" }
        default:
            var labels = [kind == .unknown ? nil : kind.rawValue, link.map { "\($0.kind.rawValue) link" }].compactMap { $0 }
            if let sameAs { labels.append("same as " + Self.escaped(sameAs)) }
            if !labels.isEmpty { line += "  (" + labels.joined(separator: ", ") + ")" }
            if let error { line += "  ERROR: " + Self.escaped(error) }
        }
        lines.append(line)
        for attribute in attributes.keys.sorted() {
            var value = attributes[attribute]!.description
            if value.count > 120 { value = String(value.prefix(117)) + "..." }
            lines.append(indent + "  @" + Self.escaped(attribute) + " = " + value)
        }
        for child in children ?? [] { child.render(into: &lines, depth: depth + 1) }
    }

    /// `text` with control characters (C0, DEL, C1) written as JSON-style escapes (`\n`,
    /// `\u001b`), so a name or value cannot break lines or drive the terminal.
    static func escaped(_ text: String) -> String {
        text.unicodeScalars.contains(where: isControl) ? JSONText.escaping(text, quotes: false, where: isControl) : text
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value)
    }
}
