/// Any attribute value, as it appears in `HDF5Node` and `batchwise inspect --json`.
///
/// ```swift
/// let tree = try file.treeDescription()
/// if case .string(let version)? = tree.attributes["keras_version"] { print(version) }
/// ```
public indirect enum HDF5AttributeJSON: Codable, Equatable, Sendable, CustomStringConvertible {
    /// A string attribute (fixed or variable length, UTF-8 or ASCII).
    case string(String)
    /// A signed integer attribute of any width.
    case int(Int64)
    /// An unsigned integer attribute of any width.
    case uint(UInt64)
    /// A floating-point attribute; non-finite values encode as the strings numpy prints.
    case double(Double)
    /// A boolean attribute stored the h5py way (an int8 enum).
    case bool(Bool)
    /// An array attribute, element by element (nested for multi-dimensional attributes).
    case array([HDF5AttributeJSON])
    /// A type this module does not decode (compound, reference...), with its description.
    case unsupported(String)

    /// Encodes the bare value (not a tagged object), so the JSON reads like h5py's `attrs`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .uint(let value): try container.encode(value)
        case .double(let value):
            // JSON has no NaN or infinity; spell them as numpy prints them.
            if value.isFinite { try container.encode(value) } else { try container.encode("\(value)") }
        case .bool(let value): try container.encode(value)
        case .array(let values): try container.encode(values)
        case .unsupported(let type): try container.encode("<\(type)>")
        }
    }

    /// Decodes a bare JSON value, trying bool, integer, double, string and array in turn.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .int(value) }
        else if let value = try? container.decode(UInt64.self) { self = .uint(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else { self = .array(try container.decode([HDF5AttributeJSON].self)) }
    }

    /// Compact human-readable form used by the text tree: 3, 0.5, "abc", [1, 2].
    public var description: String {
        switch self {
        case .string(let value): "\"\(value)\""
        case .int(let value): "\(value)"
        case .uint(let value): "\(value)"
        case .double(let value): "\(value)"
        case .bool(let value): "\(value)"
        case .array(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .unsupported(let type): "<\(type)>"
        }
    }
}
