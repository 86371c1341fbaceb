extension Tensor {
    /// The same scalars under a new shape, where one dimension may be `-1` and is inferred
    /// from the others (as NumPy's and Keras's `reshape`).
    ///
    /// ```swift
    /// let images = Tensor<Float>(zeros: [32, 8, 8, 1])
    /// try images.reshaped(inferring: [32, -1]).shape      // [32, 64]
    /// try images.reshaped(inferring: [-1, 8, 8, 1]).shape // [32, 8, 8, 1]
    /// ```
    /// O(1) beyond the copy-on-write storage share: no scalar moves.
    /// - Throws: ``TensorError/invalidReshape(from:to:)`` naming both shapes when the counts
    ///   differ, when more than one dimension is `-1` or when one is below `-1`.
    public func reshaped(inferring newShape: [Int]) throws(TensorError) -> Tensor {
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        guard inferred.count <= 1, newShape.allSatisfy({ $0 >= -1 }) else {
            throw .invalidReshape(from: shape, to: newShape)
        }
        var resolved = newShape
        if let axis = inferred.first {
            let known = newShape.filter { $0 != -1 }.reduce(1, *)
            guard known > 0, scalarCount % known == 0 else { throw .invalidReshape(from: shape, to: newShape) }
            resolved[axis] = scalarCount / known
        }
        guard resolved.reduce(1, *) == scalarCount else { throw .invalidReshape(from: shape, to: newShape) }
        return Tensor(uncheckedShape: resolved, scalars: scalars)
    }

    /// The tensor with its axes reordered: axis `i` of the result is axis `permutation[i]`
    /// of `self` (NumPy's `transpose(axes)`).
    ///
    /// ```swift
    /// let nhwc = Tensor<Float>(zeros: [2, 5, 7, 3])
    /// try nhwc.transposed(permutation: [0, 3, 1, 2]).shape   // [2, 3, 5, 7] (NCHW)
    /// ```
    /// O(scalarCount): one pass, reading the source with the permuted strides.
    /// - Throws: ``TensorError/invalidAxes(operation:axes:shape:)`` unless `permutation`
    ///   holds each of `0..<rank` exactly once.
    public func transposed(permutation: [Int]) throws(TensorError) -> Tensor {
        guard permutation.count == rank, permutation.sorted() == Array(0..<rank) else {
            throw .invalidAxes(operation: "transpose", axes: permutation, shape: shape)
        }
        if permutation == Array(0..<rank) { return self }
        var sourceStrides = [Int](repeating: 1, count: rank)
        for axis in stride(from: rank - 2, through: 0, by: -1) { sourceStrides[axis] = sourceStrides[axis + 1] * shape[axis + 1] }
        let newShape = permutation.map { shape[$0] }
        let strides = permutation.map { sourceStrides[$0] }
        let count = scalarCount
        // Zero uninitialized capacity makes the stdlib write to the shared empty-array storage,
        // a race ThreadSanitizer reports against any concurrent reader of an empty array.
        guard count > 0 else { return Tensor(uncheckedShape: newShape, scalars: []) }
        let out = withUnsafeBufferPointer { source in
            [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
                // An odometer over the result's index; the innermost axis is a strided copy.
                var index = [Int](repeating: 0, count: rank)
                let innerCount = newShape[rank - 1], innerStride = strides[rank - 1]
                var written = 0, base = 0
                while written < count {
                    for k in 0..<innerCount { (buffer.baseAddress! + written + k).initialize(to: source[base + k * innerStride]) }
                    written += innerCount
                    var axis = rank - 2
                    while axis >= 0 {
                        index[axis] += 1
                        base += strides[axis]
                        if index[axis] < newShape[axis] { break }
                        base -= strides[axis] * newShape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
                initialized = count
            }
        }
        return Tensor(uncheckedShape: newShape, scalars: out)
    }

    /// The extent of the last (channel) axis: `C` of an NHWC `[N, H, W, C]` tensor.
    public var channelCount: Int { shape.last ?? 1 }
}

extension Tensor where Scalar: BLASScalar {
    /// Combines every element with the entry of `vector` for its last-axis (channel) index:
    /// `out[..., c] = combine(self[..., c], vector[c])`, for a tensor of any rank ≥ 1.
    ///
    /// ```swift
    /// let nhwc = Tensor<Float>(repeating: 1, shape: [2, 4, 4, 3])
    /// try nhwc.broadcastingChannels(Tensor([10, 20, 30]), operation: "bias", +)   // [..., 11, 21, 31]
    /// ```
    /// O(scalarCount).
    /// - Throws: ``TensorError/rankMismatch(operation:expected:found:)`` for a scalar,
    ///   ``TensorError/shapeMismatch(operation:expected:found:)`` when `vector` is not `[C]`.
    @inlinable
    public func broadcastingChannels(
        _ vector: Tensor, operation: String, _ combine: (Scalar, Scalar) -> Scalar
    ) throws(TensorError) -> Tensor {
        guard rank >= 1 else { throw .rankMismatch(operation: operation, expected: 1, found: shape) }
        let channels = shape[rank - 1]
        guard vector.shape == [channels] else {
            throw .shapeMismatch(operation: operation, expected: [channels], found: vector.shape)
        }
        var out = self
        guard channels > 0 else { return out }
        vector.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { buffer in
                var offset = 0
                while offset < buffer.count {
                    for c in 0..<channels { buffer[offset + c] = combine(buffer[offset + c], v[c]) }
                    offset += channels
                }
            }
        }
        return out
    }

    /// Adds `vector` (`[C]`) along the last axis of a tensor of any rank (a bias over channels).
    @inlinable
    public func addingChannelVector(_ vector: Tensor) throws(TensorError) -> Tensor {
        try broadcastingChannels(vector, operation: "addingChannelVector", +)
    }

    /// Multiplies along the last axis of a tensor of any rank by `vector` (`[C]`).
    @inlinable
    public func multiplyingChannelVector(_ vector: Tensor) throws(TensorError) -> Tensor {
        try broadcastingChannels(vector, operation: "multiplyingChannelVector", *)
    }

    /// The sum over every axis but the last: a `[C]` tensor (the gradient of a channel bias).
    ///
    /// ```swift
    /// let g = Tensor<Float>(repeating: 1, shape: [2, 3, 3, 4])
    /// try g.sumOverChannels()    // [18, 18, 18, 18]
    /// ```
    /// O(scalarCount).
    /// - Throws: ``TensorError/rankMismatch(operation:expected:found:)`` for a scalar.
    @inlinable
    public func sumOverChannels() throws(TensorError) -> Tensor {
        guard rank >= 1 else { throw .rankMismatch(operation: "sumOverChannels", expected: 1, found: shape) }
        return try reshaped(inferring: [-1, channelCount]).sumAlongBatch()
    }
}
