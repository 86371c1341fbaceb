import Foundation
import HDF5
import ZIPFoundation

/// A JSON document as a value, for comparing files field by field: numbers compare as
/// doubles (Keras and Batchwise both write float32-rounded values such as
/// 0.009999999776482582 in full), booleans never equal numbers.
enum JSONValue: Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// An HDF5 attribute as h5py's `attrs` reads it (what `make_fixtures.py` records).
    init(_ attribute: HDF5AttributeJSON) {
        switch attribute {
        case .string(let value): self = .string(value)
        case .int(let value): self = .number(Double(value))
        case .uint(let value): self = .number(Double(value))
        case .double(let value): self = .number(value)
        case .bool(let value): self = .bool(value)
        case .array(let values): self = .array(values.map(JSONValue.init))
        case .unsupported(let type): self = .string("<\(type)>")
        // Not in any Keras file; mapped as h5py reads them (an enum reads as its base integer).
        case .complex(let real, let imaginary): self = .object(["real": .number(real), "imag": .number(imaginary)])
        case .enumMember(_, let value): self = .number(Double(value))
        case .empty(let dtype): self = .string("<empty \(dtype)>")
        }
    }

    static func parse(_ data: Data) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: data) }

    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// A layout list (objects with a `path`) as one object keyed by path, so that differences
    /// name the HDF5 path rather than a list position.
    var keyedByPath: JSONValue {
        guard case .array(let entries) = self else { return self }
        return .object(Dictionary(entries.map { ($0["path"]?.stringValue ?? "?", $0) }, uniquingKeysWith: { first, _ in first }))
    }

    var objectKeys: Set<String>? {
        if case .object(let members) = self { return Set(members.keys) }
        return nil
    }

    /// Every place where `batchwise` differs from `keras`, as `$.path: what`, skipping object
    /// keys in `ignoring` on both sides at any depth; a key in `mayOmit` may be missing from
    /// `batchwise`, but when present its value must equal Keras's.
    static func differences(keras: JSONValue, batchwise: JSONValue, ignoring: Set<String>,
                            mayOmit: Set<String> = [], at path: String = "$") -> [String] {
        switch (keras, batchwise) {
        case let (.object(expected), .object(found)):
            var out: [String] = []
            for key in Set(expected.keys).union(found.keys).subtracting(ignoring).sorted() {
                let child = "\(path).\(key)"
                switch (expected[key], found[key]) {
                case let (want?, got?):
                    out += differences(keras: want, batchwise: got, ignoring: ignoring, mayOmit: mayOmit, at: child)
                case (_?, nil): if !mayOmit.contains(key) { out.append("\(child): missing") }
                case (nil, let got?): out.append("\(child): not written by Keras (Batchwise wrote \(got.brief))")
                case (nil, nil): break
                }
            }
            return out
        case let (.array(expected), .array(found)):
            guard expected.count == found.count else {
                return ["\(path): \(found.count) elements, Keras wrote \(expected.count): \(batchwise.brief) vs \(keras.brief)"]
            }
            return zip(expected, found).enumerated().flatMap { index, pair in
                differences(keras: pair.0, batchwise: pair.1, ignoring: ignoring, mayOmit: mayOmit, at: "\(path)[\(index)]")
            }
        default:
            return keras == batchwise ? [] : ["\(path): Batchwise wrote \(batchwise.brief), Keras \(keras.brief)"]
        }
    }

    /// A short rendering for messages.
    var brief: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return String(value)
        case .number(let value): return String(value)
        case .string(let value): return "\"\(value)\""
        case .array(let values): return "[" + values.prefix(4).map(\.brief).joined(separator: ", ") + (values.count > 4 ? ", …]" : "]")
        case .object(let members): return "{" + members.keys.sorted().prefix(4).joined(separator: ", ") + (members.count > 4 ? ", …}" : "}")
        }
    }
}

/// The member names of a zip archive (a `.keras` file).
enum ZIPMembers {
    static func names(in url: URL) throws -> [String] {
        try Archive(url: url, accessMode: .read).map(\.path)
    }
}
