/// Deterministic JSON for `batchwise inspect --json`: keys in a fixed, readable order
/// (path, kind, shape, dtype, chunks, filters, link, same_as, error, attributes, children),
/// attributes sorted, written with the package's one JSON writer (`JSONText`).
/// (JSONEncoder's key order is unspecified on Linux.)
extension HDF5Node {
    /// The node as one JSON object; `indent` nil gives a single line.
    public func jsonText(indent: String? = "  ") -> String {
        var out = ""
        write(into: &out, indent: indent, depth: 0)
        return out
    }

    private func write(into out: inout String, indent: String?, depth: Int) {
        var fields: [(key: String, value: String)] = [("path", JSONText.quote(path)), ("kind", JSONText.quote(kind.rawValue))]
        if let shape { fields.append(("shape", Self.integers(shape))) }
        else if hasNullDataspace { fields.append(("shape", "null")) }
        if let dtype { fields.append(("dtype", JSONText.quote(dtype))) }
        if isDescribedDataset {
            fields.append(("chunks", chunks.map(Self.integers) ?? "null"))
            fields.append(("filters", JSONText.array((filters ?? []).map(JSONText.quote), indent: nil, depth: 0)))
        }
        if let link {
            var linkFields = [("kind", JSONText.quote(link.kind.rawValue)), ("target", JSONText.quote(link.target))]
            if let file = link.file { linkFields.append(("file", JSONText.quote(file))) }
            fields.append(("link", JSONText.object(linkFields, indent: nil, depth: 0)))
        }
        if let sameAs { fields.append(("same_as", JSONText.quote(sameAs))) }
        if let error { fields.append(("error", JSONText.quote(error))) }
        let attributeFields = attributes.keys.sorted().map { (key: $0, value: Self.json(attributes[$0]!)) }
        fields.append(("attributes", JSONText.object(attributeFields, indent: indent, depth: depth + 1)))
        if let children {
            let items = children.map { child -> String in
                var text = ""
                child.write(into: &text, indent: indent, depth: depth + 2)
                return text
            }
            fields.append(("children", JSONText.array(items, indent: indent, depth: depth + 1)))
        }
        out += JSONText.object(fields, indent: indent, depth: depth)
    }

    private static func integers(_ values: [Int]) -> String {
        JSONText.array(values.map(String.init), indent: nil, depth: 0)
    }

    static func json(_ value: HDF5AttributeJSON) -> String {
        switch value {
        case .string(let text): JSONText.quote(text)
        case .int(let number): "\(number)"
        case .uint(let number): "\(number)"
        case .double(let number): number.isFinite ? "\(number)" : JSONText.quote("\(number)")
        case .bool(let flag): flag ? "true" : "false"
        case .array(let items): JSONText.array(items.map(json), indent: nil, depth: 0)
        case .unsupported(let type): JSONText.quote("<\(type)>")
        case let .complex(real, imaginary): JSONText.object([("real", json(.double(real))), ("imag", json(.double(imaginary)))], indent: nil, depth: 0)
        case let .enumMember(name, value): JSONText.object([("enum", JSONText.quote(name)), ("value", "\(value)")], indent: nil, depth: 0)
        case let .empty(dtype): JSONText.object([("empty", JSONText.quote(dtype))], indent: nil, depth: 0)
        }
    }
}
