extension Tensor {
    /// The size of the leading (batch) dimension; 1 for a scalar.
    public var rowCount: Int { shape.first ?? 1 }

    /// The shape of one row: the shape without its leading dimension.
    public var rowShape: [Int] { Array(shape.dropFirst()) }

    /// The scalars per row.
    public var rowScalarCount: Int { rowShape.reduce(1, *) }

    /// One row along the leading dimension, as a tensor of shape ``rowShape``.
    public func row(_ index: Int) -> Tensor {
        precondition(rank > 0, "row(_:) needs a tensor of rank >= 1, got a scalar")
        precondition(index >= 0 && index < rowCount, "row \(index) out of range for shape \(shape)")
        let width = rowScalarCount
        return Tensor(uncheckedShape: rowShape,
                      scalars: Array(scalars[(index * width)..<((index + 1) * width)]))
    }

    /// The rows in `range`, keeping the leading dimension.
    public func rows(_ range: Range<Int>) throws(TensorError) -> Tensor {
        guard rank > 0 else { throw .rankMismatch(operation: "rows", expected: 1, found: shape) }
        guard range.lowerBound >= 0, range.upperBound <= rowCount else {
            throw .indexOutOfRange(operation: "rows", index: "\(range)", shape: shape)
        }
        let width = rowScalarCount
        var newShape = shape
        newShape[0] = range.count
        return Tensor(uncheckedShape: newShape,
                      scalars: Array(scalars[(range.lowerBound * width)..<(range.upperBound * width)]))
    }

    /// The rows at `indices` (in that order), keeping the leading dimension.
    public func gatherRows(_ indices: [Int]) throws(TensorError) -> Tensor {
        guard rank > 0 else { throw .rankMismatch(operation: "gatherRows", expected: 1, found: shape) }
        let width = rowScalarCount
        var out = [Scalar]()
        out.reserveCapacity(indices.count * width)
        for index in indices {
            guard index >= 0 && index < rowCount else {
                throw .indexOutOfRange(operation: "gatherRows", index: "\(index)", shape: shape)
            }
            out.append(contentsOf: scalars[(index * width)..<((index + 1) * width)])
        }
        var newShape = shape
        newShape[0] = indices.count
        return Tensor(uncheckedShape: newShape, scalars: out)
    }

    /// Stacks tensors of one shape along a new leading dimension.
    ///
    /// ```swift
    /// let batch = try Tensor.stacking([Tensor([1, 2]), Tensor([3, 4])])  // shape [2, 2]
    /// ```
    /// - Throws: ``TensorError/shapeMismatch(operation:expected:found:)`` naming the first
    ///   shape and the first one that differs, or ``TensorError/emptyStack``.
    @inlinable
    public static func stacking(_ tensors: [Tensor]) throws(TensorError) -> Tensor {
        guard let first = tensors.first else { throw .emptyStack }
        var out = [Scalar]()
        out.reserveCapacity(tensors.count * first.scalarCount)
        for tensor in tensors {
            guard tensor.shape == first.shape else {
                throw .shapeMismatch(operation: "stack", expected: first.shape, found: tensor.shape)
            }
            out.append(contentsOf: tensor.scalars)
        }
        return Tensor(uncheckedShape: [tensors.count] + first.shape, scalars: out)
    }

    /// Concatenates tensors along the leading dimension; all row shapes must agree.
    public static func concatenatingRows(_ tensors: [Tensor]) throws(TensorError) -> Tensor {
        guard let first = tensors.first else { throw .emptyStack }
        guard first.rank > 0 else {
            throw .rankMismatch(operation: "concatenatingRows", expected: 1, found: first.shape)
        }
        var out = [Scalar]()
        var rows = 0
        for tensor in tensors {
            guard tensor.rank > 0, tensor.rowShape == first.rowShape else {
                throw .shapeMismatch(operation: "concatenate", expected: first.shape, found: tensor.shape)
            }
            out.append(contentsOf: tensor.scalars)
            rows += tensor.rowCount
        }
        return Tensor(uncheckedShape: [rows] + first.rowShape, scalars: out)
    }
}
