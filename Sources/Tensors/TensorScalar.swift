/// A scalar type a ``Tensor`` can hold: `Float` (the network's type), `Double`, `Int32`,
/// `Int64`, `UInt8` and `Bool`.
///
/// The set is closed on purpose: every element type has a fixed size and a numpy/HDF5
/// spelling (``dtypeName``), so tensors move into files and between tools unchanged.
///
/// ```swift
/// let mask = Tensor<Bool>(repeating: true, shape: [4])
/// print(Float.dtypeName, Bool.dtypeName)              // "float32 bool"
/// ```
public protocol TensorScalar: Sendable, Equatable, Hashable {
    /// The value a freshly allocated tensor is filled with.
    static var zero: Self { get }
    /// The numpy spelling of this element type (`float32`, `int64`, `bool`, ...).
    static var dtypeName: String { get }
}

extension Float: TensorScalar { public static var dtypeName: String { "float32" } }
extension Double: TensorScalar { public static var dtypeName: String { "float64" } }
extension Int32: TensorScalar { public static var dtypeName: String { "int32" } }
extension Int64: TensorScalar { public static var dtypeName: String { "int64" } }
extension UInt8: TensorScalar { public static var dtypeName: String { "uint8" } }
extension Bool: TensorScalar {
    public static var zero: Bool { false }
    public static var dtypeName: String { "bool" }
}
