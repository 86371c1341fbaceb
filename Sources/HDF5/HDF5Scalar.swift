#if canImport(Glibc)
import Glibc
#endif

/// A Swift type that can be an element of a dataset or numeric attribute.
///
/// Each conforming type maps to a native in-memory HDF5 type; libhdf5 converts from the stored
/// type on read, and reads refuse lossy conversions (see `HDF5Error.elementTypeMismatch`).
///
/// ```swift
/// let weights = try file.dataset(at: "dense/kernel").read(as: Float.self)
/// let labels  = try file.dataset(at: "labels").read(as: Int64.self)
/// ```
public protocol HDF5Scalar: HDF5AttributeElement {
    /// The element type this Swift type is written as, and read into.
    static var hdf5ElementType: HDF5ElementType { get }
}

extension Float: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .float32 } }
extension Double: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .float64 } }
extension Int8: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .int8 } }
extension Int16: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .int16 } }
extension Int32: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .int32 } }
extension Int64: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .int64 } }
extension UInt8: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .uint8 } }
extension UInt16: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .uint16 } }
extension UInt32: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .uint32 } }
extension UInt64: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .uint64 } }
/// Stored as h5py stores numpy bools: enum(int8){FALSE = 0, TRUE = 1}.
extension Bool: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .bool } }
/// `Int` is stored as int64 (this module targets 64-bit platforms).
extension Int: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .int64 } }

/// Something that can be an element of an attribute: any `HDF5Scalar`, or `String`.
///
/// ```swift
/// try file.setAttribute("names", ["a", "b"])     // [String] attribute
/// try file.setAttribute("epsilon", 1e-3)          // Double scalar attribute
/// ```
public protocol HDF5AttributeElement: HDF5AttributeValue {}

extension String: HDF5AttributeElement {}

/// A value an attribute can hold: a scalar element or a 1-D array of elements.
///
/// ```swift
/// let version: String = try file.readAttribute("keras_version", as: String.self)
/// let shape: [Int64] = try file.readAttribute("shape", of: "/x", as: [Int64].self)
/// ```
public protocol HDF5AttributeValue: Sendable {}

extension Array: HDF5AttributeValue where Element: HDF5AttributeElement {}

/// Reads/writes a scalar buffer with the right in-memory representation. `Bool` goes
/// through Int8 so that no invalid Bool bit pattern can ever come out of a read.
enum ScalarBuffer {
    static func makeArray<T: HDF5Scalar>(
        _ type: T.Type, count: Int, fill: (UnsafeMutableRawPointer?) throws -> Void
    ) rethrows -> [T] {
        // An empty read asks for no buffer at all: `Array(unsafeUninitializedCapacity: 0)` writes
        // the count into the stdlib's shared empty-array storage, which ThreadSanitizer reports as
        // a race with any other thread reading an empty array.
        if count == 0 {
            try fill(nil)
            return []
        }
        if T.self == Bool.self {
            let bytes = try [Int8](unsafeUninitializedCapacity: count) { buffer, initialized in
                try fill(count == 0 ? nil : UnsafeMutableRawPointer(buffer.baseAddress))
                initialized = count
            }
            return unsafeBitCast(bytes.map { $0 != 0 }, to: [T].self)
        }
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
            try fill(count == 0 ? nil : UnsafeMutableRawPointer(buffer.baseAddress))
            initialized = count
        }
    }

    /// Large fresh buffers are faulted in page by page as libhdf5 fills them; asking for
    /// transparent huge pages (as numpy does) makes whole reads about 2x faster on Linux.
    private static func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        guard buffer.count >= 8 << 20, let base = buffer.baseAddress else { return }
        let huge = 2 << 20
        let start = (Int(bitPattern: base) + huge - 1) / huge * huge
        let end = (Int(bitPattern: base) + buffer.count) / huge * huge
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(aligned, end - start, MADV_HUGEPAGE)
        #endif
    }

    @discardableResult
    static func withBytes<T: HDF5Scalar, R>(
        of values: [T], _ body: (UnsafeRawPointer?) throws -> R
    ) rethrows -> R {
        // Compare metatypes: `values as? [Bool]` would walk every element of a large array.
        if T.self == Bool.self {
            let bytes = unsafeBitCast(values, to: [Bool].self).map { Int8($0 ? 1 : 0) }
            return try bytes.withUnsafeBytes { try body($0.baseAddress) }
        }
        return try values.withUnsafeBytes { try body($0.baseAddress) }
    }
}
