/// An n-dimensional array: a shape and its scalars in contiguous row-major order.
///
/// `Tensor` is a value type. Its storage is a Swift array, so copies are cheap and
/// copy-on-write; hot loops reach the scalars through ``withUnsafeBufferPointer(_:)``
/// rather than per-element subscripts.
///
/// ```swift
/// let x = try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// x.shape        // [2, 3]
/// x[1, 2]        // 6
/// x.row(0)       // Tensor [3]: [1, 2, 3]
/// ```
public struct Tensor<Scalar: TensorScalar>: Sendable, Equatable, Hashable {
    /// The extent of each dimension; `[]` is a scalar.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    @inlinable public var scalars: [Scalar] { storage }
    @usableFromInline internal var storage: [Scalar]

    /// Creates a tensor from a shape and its row-major scalars.
    /// - Throws: ``TensorError`` when the count does not match the shape.
    public init(shape: [Int], scalars: [Scalar]) throws(TensorError) {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw .negativeDimension(shape: shape) }
        guard shape.reduce(1, *) == scalars.count else {
            throw .scalarCountMismatch(shape: shape, count: scalars.count)
        }
        self.shape = shape
        self.storage = scalars
    }

    /// Creates a tensor whose shape is already known to match, for internal fast paths (and
    /// the package's layers: a small model's step made a dozen tensors whose counts it had
    /// just computed from their shapes, and checked each shape again).
    @usableFromInline
    package init(uncheckedShape shape: [Int], scalars: [Scalar]) {
        self.shape = shape
        self.storage = scalars
    }

    /// A tensor of the given shape with every element equal to `value`.
    /// (Inlinable so layers get a specialized fill instead of a per-element generic copy.)
    @inlinable
    public init(repeating value: Scalar, shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.init(uncheckedShape: shape, scalars: Array(repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor of zeros (`false` for `Bool`).
    @inlinable
    public init(zeros shape: [Int]) { self.init(repeating: .zero, shape: shape) }

    /// A rank-0 tensor.
    public init(scalar: Scalar) { self.init(uncheckedShape: [], scalars: [scalar]) }

    /// A rank-1 tensor.
    public init(_ vector: [Scalar]) { self.init(uncheckedShape: [vector.count], scalars: vector) }

    /// The number of dimensions.
    @inlinable public var rank: Int { shape.count }
    /// The number of scalars.
    @inlinable public var scalarCount: Int { scalars.count }
    /// The numpy spelling of the element type.
    public var dtypeName: String { Scalar.dtypeName }

    /// The element at a full multi-index.
    public subscript(indices: Int...) -> Scalar {
        get { scalars[flatIndex(indices)] }
        set { storage[flatIndex(indices)] = newValue }
    }

    private func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count, "index \(indices) does not match shape \(shape)")
        var flat = 0
        for (axis, index) in indices.enumerated() {
            precondition(index >= 0 && index < shape[axis], "index \(indices) out of range for \(shape)")
            flat = flat * shape[axis] + index
        }
        return flat
    }

    /// Returns the same scalars under a new shape with the same element count.
    public func reshaped(to newShape: [Int]) throws(TensorError) -> Tensor {
        try Tensor(shape: newShape, scalars: scalars)
    }

    /// Calls `body` with the scalars as a read-only buffer.
    @inlinable
    public func withUnsafeBufferPointer<R, E: Error>(
        _ body: (UnsafeBufferPointer<Scalar>) throws(E) -> R
    ) throws(E) -> R {
        try scalars.withUnsafeBufferPointer { buffer throws(E) in try body(buffer) }
    }

    /// Calls `body` with the scalars as a mutable buffer (copying first if shared).
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws(E) -> R
    ) throws(E) -> R {
        try storage.withUnsafeMutableBufferPointer { buffer throws(E) in try body(&buffer) }
    }
}

extension Tensor: CustomStringConvertible {
    /// The shape and the first scalars, short enough for a log line.
    public var description: String {
        let preview = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        let more = scalars.count > 8 ? ", ..." : ""
        return "Tensor<\(Scalar.dtypeName)>\(shape): [\(preview)\(more)]"
    }
}
