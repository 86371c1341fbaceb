import CHDF5

/// The element type of a dataset or attribute, spelled the way numpy spells dtypes.
///
/// ```swift
/// let type = try file.dataset(at: "x").elementType
/// if type == .float32 { print(type.numpyName) }   // "float32"
/// ```
public enum HDF5ElementType: Hashable, Sendable, CustomStringConvertible {
    /// IEEE floating point of 16, 32 and 64 bits (numpy's `float16`, `float32`, `float64`).
    case float16, float32, float64
    /// Signed integers of 8 to 64 bits.
    case int8, int16, int32, int64
    /// Unsigned integers of 8 to 64 bits.
    case uint8, uint16, uint32, uint64
    /// h5py's convention: an enum over int8 with FALSE = 0, TRUE = 1.
    case bool
    /// Fixed- or variable-length strings.
    case string
    /// Anything else (compound, reference, opaque...), with a short description.
    case other(String)

    /// numpy's name: "float32", "int64", "uint8", "bool", "string", ...
    public var numpyName: String {
        switch self {
        case .float16: "float16"
        case .float32: "float32"
        case .float64: "float64"
        case .int8: "int8"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .uint8: "uint8"
        case .uint16: "uint16"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .bool: "bool"
        case .string: "string"
        case .other(let name): name
        }
    }

    /// The numpy name, so messages read like h5py's (`float32`, `int64`, `bool`, ...).
    public var description: String { numpyName }

    /// Size in bytes of one element in memory (nil for strings and unknown types).
    public var byteSize: Int? {
        switch self {
        case .int8, .uint8, .bool: 1
        case .float16, .int16, .uint16: 2
        case .float32, .int32, .uint32: 4
        case .float64, .int64, .uint64: 8
        case .string, .other: nil
        }
    }

    var isFloatingPoint: Bool { self == .float16 || self == .float32 || self == .float64 }
    var isSignedInteger: Bool { [.int8, .int16, .int32, .int64].contains(self) }
    var isUnsignedInteger: Bool { [.uint8, .uint16, .uint32, .uint64].contains(self) }

    /// Whether values stored as `self` convert to `target` without loss (what reads allow).
    func convertsLosslessly(to target: HDF5ElementType) -> Bool {
        if self == target { return true }
        guard let size = byteSize, let targetSize = target.byteSize else { return false }
        if isFloatingPoint { return target.isFloatingPoint && targetSize >= size }
        if isSignedInteger { return target.isSignedInteger && targetSize >= size }
        if isUnsignedInteger {
            return (target.isUnsignedInteger && targetSize >= size) || (target.isSignedInteger && targetSize > size)
        }
        return false
    }

    /// Classifies a libhdf5 datatype id. Call inside the lock.
    static func classify(_ type: hid_t) -> HDF5ElementType {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            switch size {
            case 2: return .float16
            case 4: return .float32
            case 8: return .float64
            default: return .other("float\(size * 8)")
            }
        case H5T_INTEGER:
            let unsigned = H5Tget_sign(type) == H5T_SGN_NONE
            switch (size, unsigned) {
            case (1, false): return .int8
            case (2, false): return .int16
            case (4, false): return .int32
            case (8, false): return .int64
            case (1, true): return .uint8
            case (2, true): return .uint16
            case (4, true): return .uint32
            case (8, true): return .uint64
            default: return .other("int\(size * 8)")
            }
        case H5T_ENUM:
            if isBoolEnum(type) { return .bool }
            // libhdf5 converts enum values to integers, so an enum reads as its base type;
            // ``displayName(_:)`` shows the members.
            let base = H5Tget_super(type)
            defer { if base >= 0 { H5Tclose(base) } }
            return base >= 0 ? classify(base) : .other("enum")
        case H5T_STRING: return .string
        case H5T_COMPOUND: return .other(complexName(type) ?? compoundName(type))
        case H5T_REFERENCE: return .other("reference")
        case H5T_OPAQUE: return .other("opaque")
        case H5T_ARRAY: return .other("array")
        case H5T_VLEN: return .other("vlen")
        case H5T_BITFIELD: return .other("bitfield")
        default: return .other("unknown")
        }
    }

    /// The numpy name, except that an enum (other than h5py's bool) is spelled with its base
    /// type and members, "enum(int16){RED: 0, GREEN: 1}", as `batchwise inspect` shows it.
    /// Call inside the lock.
    static func displayName(_ type: hid_t) -> String {
        H5Tget_class(type) == H5T_ENUM && !isBoolEnum(type) ? enumName(type) : classify(type).numpyName
    }

    private static func enumName(_ type: hid_t) -> String {
        let base = H5Tget_super(type)
        guard base >= 0 else { return "enum" }
        defer { H5Tclose(base) }
        let members = enumMembers(type).map { "\($0.name): \($0.value)" }
        return "enum(\(classify(base).numpyName)){" + members.joined(separator: ", ") + "}"
    }

    /// The members of an enum type in stored order, values widened to Int64. Call inside the lock.
    static func enumMembers(_ type: hid_t) -> [(name: String, value: Int64)] {
        let count = max(0, H5Tget_nmembers(type))
        let size = H5Tget_size(type)
        let signed = H5Tget_sign(type) != H5T_SGN_NONE
        let bigEndian = H5Tget_order(type) == H5T_ORDER_BE
        var members: [(name: String, value: Int64)] = []
        for index in 0..<UInt32(count) {
            guard let cName = H5Tget_member_name(type, index) else { continue }
            let name = String(cString: cName)
            H5free_memory(cName)
            var bytes = [UInt8](repeating: 0, count: max(size, 8))
            guard H5Tget_member_value(type, index, &bytes) >= 0 else { continue }
            // Member values are stored in the enum type's byte order.
            let value = bigEndian ? ArraySlice(bytes.prefix(size).reversed()) : bytes.prefix(size)
            members.append((name, integer(value, signed: signed)))
        }
        H5Eclear2(bw_H5E_DEFAULT())
        return members
    }

    /// A little-endian integer of 1 to 8 bytes, sign-extended when `signed`.
    static func integer(_ bytes: ArraySlice<UInt8>, signed: Bool) -> Int64 {
        var raw: UInt64 = 0
        for (offset, byte) in bytes.prefix(8).enumerated() { raw |= UInt64(byte) << (8 * UInt64(offset)) }
        let bits = UInt64(min(bytes.count, 8) * 8)
        if signed, bits > 0, bits < 64, raw & (1 << (bits - 1)) != 0 { raw |= ~((1 << bits) - 1) }
        return Int64(bitPattern: raw)
    }

    /// h5py's complex numbers: a compound of two equal floats named `r` and `i`.
    static func complexName(_ type: hid_t) -> String? {
        guard H5Tget_nmembers(type) == 2 else { return nil }
        var names: [String] = []
        var parts: [HDF5ElementType] = []
        for index in 0..<UInt32(2) {
            guard let cName = H5Tget_member_name(type, index) else { return nil }
            names.append(String(cString: cName))
            H5free_memory(cName)
            let member = H5Tget_member_type(type, index)
            guard member >= 0 else { H5Eclear2(bw_H5E_DEFAULT()); return nil }
            parts.append(classify(member))
            H5Tclose(member)
        }
        guard names == ["r", "i"], parts[0] == parts[1] else { return nil }
        switch parts[0] {
        case .float32: return "complex64"
        case .float64: return "complex128"
        default: return nil
        }
    }

    /// "compound{name: string, energy: float64}" (a PyTables table row, for example).
    private static func compoundName(_ type: hid_t) -> String {
        let count = max(0, H5Tget_nmembers(type))
        var fields: [String] = []
        for index in 0..<UInt32(count) {
            guard let cName = H5Tget_member_name(type, index) else { continue }
            let name = String(cString: cName)
            H5free_memory(cName)
            let member = H5Tget_member_type(type, index)
            guard member >= 0 else { continue }
            fields.append("\(name): \(classify(member).numpyName)")
            H5Tclose(member)
        }
        H5Eclear2(bw_H5E_DEFAULT())
        return "compound{" + fields.joined(separator: ", ") + "}"
    }

    /// h5py writes numpy bools as enum(int8){FALSE: 0, TRUE: 1}.
    private static func isBoolEnum(_ type: hid_t) -> Bool {
        guard H5Tget_size(type) == 1, H5Tget_nmembers(type) == 2 else { return false }
        var names: [String: Int8] = [:]
        for index in 0..<UInt32(2) {
            guard let cName = H5Tget_member_name(type, index) else { return false }
            let name = String(cString: cName)
            H5free_memory(cName)
            var value: Int8 = -1
            guard H5Tget_member_value(type, index, &value) >= 0 else { return false }
            names[name] = value
        }
        return names == ["FALSE": 0, "TRUE": 1]
    }

    /// A native in-memory datatype for this element type. Call inside the lock.
    func memoryType() -> HDF5TypeID? {
        switch self {
        case .float32: return HDF5TypeID(bw_H5T_NATIVE_FLOAT(), owned: false)
        case .float64: return HDF5TypeID(bw_H5T_NATIVE_DOUBLE(), owned: false)
        case .int8: return HDF5TypeID(bw_H5T_NATIVE_INT8(), owned: false)
        case .int16: return HDF5TypeID(bw_H5T_NATIVE_INT16(), owned: false)
        case .int32: return HDF5TypeID(bw_H5T_NATIVE_INT32(), owned: false)
        case .int64: return HDF5TypeID(bw_H5T_NATIVE_INT64(), owned: false)
        case .uint8: return HDF5TypeID(bw_H5T_NATIVE_UINT8(), owned: false)
        case .uint16: return HDF5TypeID(bw_H5T_NATIVE_UINT16(), owned: false)
        case .uint32: return HDF5TypeID(bw_H5T_NATIVE_UINT32(), owned: false)
        case .uint64: return HDF5TypeID(bw_H5T_NATIVE_UINT64(), owned: false)
        case .bool: return Self.boolEnumType(base: bw_H5T_NATIVE_INT8())
        case .float16, .string, .other: return nil
        }
    }

    /// The little-endian type written to files (what h5py writes on x86 and ARM).
    func fileType() -> HDF5TypeID? {
        switch self {
        case .float32: return HDF5TypeID(bw_H5T_IEEE_F32LE(), owned: false)
        case .float64: return HDF5TypeID(bw_H5T_IEEE_F64LE(), owned: false)
        case .int8: return HDF5TypeID(bw_H5T_STD_I8LE(), owned: false)
        case .int16: return HDF5TypeID(bw_H5T_STD_I16LE(), owned: false)
        case .int32: return HDF5TypeID(bw_H5T_STD_I32LE(), owned: false)
        case .int64: return HDF5TypeID(bw_H5T_STD_I64LE(), owned: false)
        case .uint8: return HDF5TypeID(bw_H5T_STD_U8LE(), owned: false)
        case .uint16: return HDF5TypeID(bw_H5T_STD_U16LE(), owned: false)
        case .uint32: return HDF5TypeID(bw_H5T_STD_U32LE(), owned: false)
        case .uint64: return HDF5TypeID(bw_H5T_STD_U64LE(), owned: false)
        case .bool: return Self.boolEnumType(base: bw_H5T_STD_I8LE())
        case .float16, .string, .other: return nil
        }
    }

    private static func boolEnumType(base: hid_t) -> HDF5TypeID? {
        let type = H5Tenum_create(base)
        guard type >= 0 else { return nil }
        var no: Int8 = 0, yes: Int8 = 1
        guard H5Tenum_insert(type, "FALSE", &no) >= 0, H5Tenum_insert(type, "TRUE", &yes) >= 0 else {
            H5Tclose(type)
            return nil
        }
        return HDF5TypeID(type, owned: true)
    }
}

/// A datatype id that is closed after use only if this module created it.
struct HDF5TypeID {
    let id: hid_t
    let owned: Bool

    init(_ id: hid_t, owned: Bool) {
        self.id = id
        self.owned = owned
    }

    func close() {
        if owned { H5Tclose(id) }
    }
}
