/// The indented text tree printed by `batchwise inspect`.
extension HDF5Node {
    /// One line per object, children indented, attributes listed under their object:
    ///
    ///     /  (group)
    ///       @backend = "swift"
    ///       dense/  (group)
    ///         kernel  float32 [4, 3]  chunks [4, 3]  shuffle, gzip(4)
    public func renderedText() -> String {
        var lines: [String] = []
        render(into: &lines, depth: 0)
        return lines.joined(separator: "\n")
    }

    private func render(into lines: inout [String], depth: Int) {
        let indent = String(repeating: "  ", count: depth)
        switch kind {
        case .group:
            lines.append(indent + (path == "/" ? "/" : name + "/") + "  (group)")
        case .dataset:
            var line = indent + name + "  " + (dtype ?? "?") + " " + "\(shape ?? [])"
            line += chunks.map { "  chunks \($0)" } ?? "  contiguous"
            if let filters, !filters.isEmpty { line += "  " + filters.joined(separator: ", ") }
            lines.append(line)
        case .other:
            lines.append(indent + name + "  (other)")
        }
        for attribute in attributes.keys.sorted() {
            var value = attributes[attribute]!.description
            if value.count > 120 { value = String(value.prefix(117)) + "..." }
            lines.append(indent + "  @" + attribute + " = " + value)
        }
        for child in children ?? [] { child.render(into: &lines, depth: depth + 1) }
    }
}
