extension Tensor where Scalar: BLASScalar {
    /// The column sums of an `[N, C]` tensor: a `[C]` tensor (a sum over the batch axis).
    ///
    /// ```swift
    /// let x = try Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3, 4])
    /// try x.sumAlongBatch()       // [4, 6]
    /// try x.meanAlongBatch()      // [2, 3]
    /// try x.varianceAlongBatch()  // [1, 1]  (biased: divides by N, as Keras BN)
    /// ```
    @inlinable
    public func sumAlongBatch() throws(TensorError) -> Tensor {
        guard rank == 2 else { throw .rankMismatch(operation: "sumAlongBatch", expected: 2, found: shape) }
        let columns = shape[1]
        var out = Tensor(zeros: [columns])
        let rows = shape[0]
        // Over raw pointers, each column in row order: the loop indexed by `offset + c` stayed
        // scalar (its overflow checks), about 9 instructions a value (callgrind); this one
        // vectorizes across the columns with the same additions, so the same bits.
        withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { sums in
                guard var row = x.baseAddress, let total = sums.baseAddress else { return }
                for _ in 0..<rows {
                    for c in 0..<columns { total[c] += row[c] }
                    row += columns
                }
            }
        }
        return out
    }

    /// The column means of an `[N, C]` tensor (NaN columns when N is 0).
    @inlinable
    public func meanAlongBatch() throws(TensorError) -> Tensor {
        let n = Scalar(shape.first ?? 0)
        return try sumAlongBatch().map { $0 / n }
    }

    /// The biased (divide by N) column variances of an `[N, C]` tensor: `mean((x - mean)²)`.
    @inlinable
    public func varianceAlongBatch() throws(TensorError) -> Tensor {
        let mean = try meanAlongBatch()
        let centered = try subtractingRowVector(mean)
        return try (centered * centered).meanAlongBatch()
    }

    /// The sum of all scalars.
    @inlinable
    public func sum() -> Scalar {
        withUnsafeBufferPointer { buffer in buffer.reduce(0, +) }
    }

    /// The mean of all scalars.
    @inlinable
    public func mean() -> Scalar { sum() / Scalar(scalarCount) }
}
