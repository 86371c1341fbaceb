extension Tensor where Scalar: BLASScalar {
    /// Applies `transform` to every scalar.
    ///
    /// ```swift
    /// Tensor<Float>([1, -2]).map { max($0, 0) }   // [1, 0]
    /// ```
    @inlinable
    public func map(_ transform: (Scalar) -> Scalar) -> Tensor {
        var out = self
        out.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] = transform(buffer[i]) }
        }
        return out
    }

    /// Combines two tensors of one shape scalar by scalar.
    /// - Throws: ``TensorError/shapeMismatch(operation:expected:found:)`` naming both shapes.
    @inlinable
    public func zipWith(
        _ other: Tensor, operation: String = "zipWith", _ combine: (Scalar, Scalar) -> Scalar
    ) throws(TensorError) -> Tensor {
        guard shape == other.shape else {
            throw .shapeMismatch(operation: operation, expected: shape, found: other.shape)
        }
        var out = self
        other.withUnsafeBufferPointer { rhs in
            out.withUnsafeMutableBufferPointer { lhs in
                for i in lhs.indices { lhs[i] = combine(lhs[i], rhs[i]) }
            }
        }
        return out
    }

    /// Elementwise sum of two tensors of the same shape.
    @inlinable
    public static func + (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor {
        try lhs.zipWith(rhs, operation: "+", +)
    }
    /// Elementwise difference of two tensors of the same shape.
    @inlinable
    public static func - (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor {
        try lhs.zipWith(rhs, operation: "-", -)
    }
    /// Elementwise (Hadamard) product of two tensors of the same shape.
    @inlinable
    public static func * (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor {
        try lhs.zipWith(rhs, operation: "*", *)
    }
    /// Elementwise quotient of two tensors of the same shape.
    @inlinable
    public static func / (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor {
        try lhs.zipWith(rhs, operation: "/", /)
    }
    /// Every scalar multiplied by `rhs`.
    @inlinable
    public static func * (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 * rhs } }
    /// Every scalar multiplied by `lhs`.
    @inlinable
    public static func * (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs * $0 } }
    /// `rhs` added to every scalar.
    @inlinable
    public static func + (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 + rhs } }
    /// `rhs` subtracted from every scalar.
    @inlinable
    public static func - (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 - rhs } }

    /// Adds `alpha · other` to this tensor in place (BLAS axpy's contract, plain loop).
    /// - Throws: ``TensorError/shapeMismatch(operation:expected:found:)``.
    @inlinable
    public mutating func addProduct(_ alpha: Scalar, _ other: Tensor) throws(TensorError) {
        guard shape == other.shape else {
            throw .shapeMismatch(operation: "addProduct", expected: shape, found: other.shape)
        }
        other.withUnsafeBufferPointer { rhs in
            withUnsafeMutableBufferPointer { lhs in
                for i in lhs.indices { lhs[i] += alpha * rhs[i] }
            }
        }
    }

    /// The largest absolute value (0 for an empty tensor); handy for tolerances.
    @inlinable
    public var maxAbsolute: Scalar {
        withUnsafeBufferPointer { buffer in
            var best: Scalar = 0
            for value in buffer where abs(value) > best { best = abs(value) }
            return best
        }
    }
}
