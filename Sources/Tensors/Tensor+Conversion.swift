extension Tensor where Scalar: BinaryFloatingPoint {
    /// The same values as another floating-point type (rounded to nearest).
    ///
    /// ```swift
    /// let d = Tensor<Double>([0.1, 2])
    /// let f = Tensor<Float>(converting: d)     // [0.1 as Float, 2]
    /// let l = Tensor<Float>(converting: Tensor<Int64>([3, 1]))
    /// ```
    @inlinable
    public init<Source: BinaryFloatingPoint>(converting other: Tensor<Source>) {
        let values = other.withUnsafeBufferPointer { buffer in buffer.map { Scalar($0) } }
        self.init(uncheckedShape: other.shape, scalars: values)
    }

    /// Integer values (labels, counts) as floating point.
    @inlinable
    public init<Source: BinaryInteger>(converting other: Tensor<Source>) {
        let values = other.withUnsafeBufferPointer { buffer in buffer.map { Scalar($0) } }
        self.init(uncheckedShape: other.shape, scalars: values)
    }
}
