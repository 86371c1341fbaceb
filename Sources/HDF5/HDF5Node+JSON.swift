/// Deterministic JSON for `batchwise inspect --json`: keys in a fixed, readable order
/// (path, kind, shape, dtype, chunks, filters, link, same_as, error, attributes, children),
/// attributes sorted.
/// (JSONEncoder's key order is unspecified on Linux.)
extension HDF5Node {
    /// The node as one JSON object; `indent` nil gives a single line.
    public func jsonText(indent: String? = "  ") -> String {
        var out = ""
        write(into: &out, indent: indent, depth: 0)
        return out
    }

    private func write(into out: inout String, indent: String?, depth: Int) {
        var fields: [(String, String)] = [("path", Self.quote(path)), ("kind", Self.quote(kind.rawValue))]
        if let shape { fields.append(("shape", "[" + shape.map(String.init).joined(separator: ", ") + "]")) }
        else if hasNullDataspace { fields.append(("shape", "null")) }
        if let dtype { fields.append(("dtype", Self.quote(dtype))) }
        if isDescribedDataset {
            fields.append(("chunks", chunks.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" } ?? "null"))
            fields.append(("filters", "[" + (filters ?? []).map(Self.quote).joined(separator: ", ") + "]"))
        }
        if let link {
            var linkFields = [("\"kind\"", Self.quote(link.kind.rawValue)), ("\"target\"", Self.quote(link.target))]
            if let file = link.file { linkFields.append(("\"file\"", Self.quote(file))) }
            fields.append(("link", Self.object(linkFields, indent: nil, depth: 0)))
        }
        if let sameAs { fields.append(("same_as", Self.quote(sameAs))) }
        if let error { fields.append(("error", Self.quote(error))) }
        let attributeFields = attributes.keys.sorted().map { (Self.quote($0), Self.json(attributes[$0]!)) }
        fields.append(("attributes", Self.object(attributeFields, indent: indent, depth: depth + 1)))
        if let children {
            let items = children.map { child -> String in
                var text = ""
                child.write(into: &text, indent: indent, depth: depth + 2)
                return text
            }
            fields.append(("children", Self.array(items, indent: indent, depth: depth + 1)))
        }
        out += Self.object(fields.map { (Self.quote($0.0), $0.1) }, indent: indent, depth: depth)
    }

    private static func object(_ fields: [(String, String)], indent: String?, depth: Int) -> String {
        if fields.isEmpty { return "{}" }
        guard let indent else { return "{" + fields.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}" }
        let inner = String(repeating: indent, count: depth + 1)
        let outer = String(repeating: indent, count: depth)
        return "{\n" + fields.map { inner + "\($0.0): \($0.1)" }.joined(separator: ",\n") + "\n" + outer + "}"
    }

    private static func array(_ items: [String], indent: String?, depth: Int) -> String {
        if items.isEmpty { return "[]" }
        guard let indent else { return "[" + items.joined(separator: ", ") + "]" }
        let inner = String(repeating: indent, count: depth + 1)
        let outer = String(repeating: indent, count: depth)
        return "[\n" + items.map { inner + $0 }.joined(separator: ",\n") + "\n" + outer + "]"
    }

    static func json(_ value: HDF5AttributeJSON) -> String {
        switch value {
        case .string(let text): quote(text)
        case .int(let number): "\(number)"
        case .uint(let number): "\(number)"
        case .double(let number): number.isFinite ? "\(number)" : quote("\(number)")
        case .bool(let flag): flag ? "true" : "false"
        case .array(let items): "[" + items.map(json).joined(separator: ", ") + "]"
        case .unsupported(let type): quote("<\(type)>")
        case let .complex(real, imaginary): "{\"real\": \(json(.double(real))), \"imag\": \(json(.double(imaginary)))}"
        case let .enumMember(name, value): "{\"enum\": \(quote(name)), \"value\": \(value)}"
        case let .empty(dtype): "{\"empty\": \(quote(dtype))}"
        }
    }

    /// A JSON string literal for `text` (also used by the Checkpoints module's config writer).
    package static func quote(_ text: String) -> String {
        "\"" + escaping(text, quotes: true) { $0.value < 0x20 } + "\""
    }

    /// `text` with `\n`, `\r`, `\t` and the other scalars `needsEscape` selects written as
    /// JSON escapes (`\u001b`); with `quotes`, `"` and `\` too.
    static func escaping(_ text: String, quotes: Bool, where needsEscape: (Unicode.Scalar) -> Bool) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"" where quotes: out += "\\\""
            case "\\" where quotes: out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where needsEscape(scalar):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
