/// A scalar that converts to and from `Double` exactly enough for element-type casts
/// (every ``TensorScalar`` except `Bool`).
///
/// ```swift
/// let labels = Tensor<Int64>([0, 1, 1])
/// let targets = Tensor<Float>(converting: labels)     // [0.0, 1.0, 1.0]
/// ```
public protocol NumericTensorScalar: TensorScalar {
    /// The value as a `Double`.
    var doubleValue: Double { get }
    /// The value converted from a `Double` (integers round toward zero, as numpy's `astype`).
    init(fromDouble value: Double)
}

extension Float: NumericTensorScalar {
    @inlinable public var doubleValue: Double { Double(self) }
    @inlinable public init(fromDouble value: Double) { self = Float(value) }
}
extension Double: NumericTensorScalar {
    @inlinable public var doubleValue: Double { self }
    @inlinable public init(fromDouble value: Double) { self = value }
}
extension Int32: NumericTensorScalar {
    @inlinable public var doubleValue: Double { Double(self) }
    @inlinable public init(fromDouble value: Double) { self = Int32(clamping: Int64(value)) }
}
extension Int64: NumericTensorScalar {
    @inlinable public var doubleValue: Double { Double(self) }
    @inlinable public init(fromDouble value: Double) { self = Int64(value) }
}
extension UInt8: NumericTensorScalar {
    @inlinable public var doubleValue: Double { Double(self) }
    @inlinable public init(fromDouble value: Double) { self = UInt8(clamping: Int64(value)) }
}

extension Tensor where Scalar: NumericTensorScalar {
    /// The same values as another element type, like numpy's `astype`.
    ///
    /// ```swift
    /// let x = Tensor<Double>([1.5, 2.5]).converted(to: Float.self)   // Tensor<Float> [1.5, 2.5]
    /// ```
    public func converted<T: NumericTensorScalar>(to type: T.Type) -> Tensor<T> {
        if let same = self as? Tensor<T> { return same }
        let count = scalarCount
        // Zero uninitialized capacity would write to the shared empty-array storage (a data race).
        guard count > 0 else { return Tensor<T>(uncheckedShape: shape, scalars: []) }
        let out = withUnsafeBufferPointer { source in
            [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0, let source = source as? UnsafeBufferPointer<Double>, T.self == Float.self {
                    // The common case (float64 data into a float32 network) without the detour.
                    let target = UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: Float.self)
                    for i in 0..<count { target[i] = Float(source[i]) }
                } else {
                    for i in 0..<count { buffer[i] = T(fromDouble: source[i].doubleValue) }
                }
                initialized = count
            }
        }
        return Tensor<T>(uncheckedShape: shape, scalars: out)
    }
}
