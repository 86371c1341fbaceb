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
    /// A type this module does not decode (compound, reference...), with its description;
    /// also an attribute libhdf5 could not read (`error: ...`).
    case unsupported(String)
    /// A complex number stored the h5py way (a compound of two floats `r` and `i`).
    /// JSON: `{"real": 1.0, "imag": -1.0}`.
    case complex(real: Double, imaginary: Double)
    /// A member of an enum type: its name and integer value. JSON: `{"enum": "BLUE", "value": 42}`.
    case enumMember(name: String, value: Int64)
    /// An attribute with a null dataspace (h5py's `Empty`): a type but no value, not even a
    /// scalar one. JSON: `{"empty": "int32"}`.
    case empty(dtype: String)

    private enum ObjectKeys: String, CodingKey { case real, imag, `enum`, value, empty }

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
        case .complex, .enumMember, .empty: try encodeObject(to: encoder)
        }
    }

    private func encodeObject(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: ObjectKeys.self)
        switch self {
        case let .complex(real, imaginary):
            try container.encode(real, forKey: .real)
            try container.encode(imaginary, forKey: .imag)
        case let .enumMember(name, value):
            try container.encode(name, forKey: .enum)
            try container.encode(value, forKey: .value)
        case let .empty(dtype): try container.encode(dtype, forKey: .empty)
        default: break
        }
    }

    /// Decodes a bare JSON value, trying bool, integer, double, string and array in turn, and
    /// the objects written for complex numbers, enum members and empty attributes.
    public init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: ObjectKeys.self) {
            if let dtype = try object.decodeIfPresent(String.self, forKey: .empty) { self = .empty(dtype: dtype); return }
            if let name = try object.decodeIfPresent(String.self, forKey: .enum) {
                self = .enumMember(name: name, value: try object.decode(Int64.self, forKey: .value))
                return
            }
            self = .complex(real: try object.decode(Double.self, forKey: .real), imaginary: try object.decode(Double.self, forKey: .imag))
            return
        }
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .int(value) }
        else if let value = try? container.decode(UInt64.self) { self = .uint(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else { self = .array(try container.decode([HDF5AttributeJSON].self)) }
    }

    /// Compact human-readable form used by the text tree: 3, 0.5, "abc", [1, 2], (1.0-2.0j),
    /// BLUE, Empty(int32). Strings are quoted with control characters escaped (`"a\nb"`,
    /// quotes inside left as they are), so an attribute cannot break the tree's lines or send
    /// terminal escapes.
    public var description: String {
        switch self {
        case .string(let value): "\"" + HDF5Node.escaped(value) + "\""
        case .int(let value): "\(value)"
        case .uint(let value): "\(value)"
        case .double(let value): "\(value)"
        case .bool(let value): "\(value)"
        case .array(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .unsupported(let type): "<\(type)>"
        case let .complex(real, imaginary): "(\(real)\(imaginary.sign == .minus ? "-" : "+")\(abs(imaginary))j)"
        case let .enumMember(name, _): name
        case let .empty(dtype): "Empty(\(dtype))"
        }
    }
}
