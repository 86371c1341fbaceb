extension Tensor where Scalar: BLASScalar {
    /// Adds a row vector of shape `[C]` to every row of an `[N, C]` tensor.
    ///
    /// ```swift
    /// let x = try Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3, 4])
    /// try x.addingRowVector(Tensor([10, 20]))   // [[11, 22], [13, 24]]
    /// ```
    /// - Throws: ``TensorError`` when `self` is not `[N, C]` or `vector` is not `[C]`.
    @inlinable
    public func addingRowVector(_ vector: Tensor) throws(TensorError) -> Tensor {
        try broadcastingRowVector(vector, operation: "addingRowVector", +)
    }

    /// Multiplies every row of an `[N, C]` tensor by a row vector of shape `[C]`.
    @inlinable
    public func multiplyingRowVector(_ vector: Tensor) throws(TensorError) -> Tensor {
        try broadcastingRowVector(vector, operation: "multiplyingRowVector", *)
    }

    /// Subtracts a row vector of shape `[C]` from every row of an `[N, C]` tensor.
    @inlinable
    public func subtractingRowVector(_ vector: Tensor) throws(TensorError) -> Tensor {
        try broadcastingRowVector(vector, operation: "subtractingRowVector", -)
    }

    /// Combines each row with `vector`, column by column.
    @inlinable
    public func broadcastingRowVector(
        _ vector: Tensor, operation: String, _ combine: (Scalar, Scalar) -> Scalar
    ) throws(TensorError) -> Tensor {
        guard rank == 2 else { throw .rankMismatch(operation: operation, expected: 2, found: shape) }
        return try broadcastingChannels(vector, operation: operation, combine)
    }
}
