/// Values read from (or to be written to) a dataset, row-major, with their shape.
///
/// ```swift
/// let kernel = try file.dataset(at: "dense/kernel").read(as: Float.self)
/// print(kernel.shape, kernel.values.count)   // [4, 3] 12
/// ```
public struct HDF5Array<Element: HDF5Scalar>: Sendable, Equatable where Element: Equatable {
    /// Dimensions, outermost first; [] for a scalar.
    public var shape: [Int]
    /// All elements in row-major (C) order; count == shape.product (1 for a scalar).
    public var values: [Element]

    /// Pairs values with a shape; the caller guarantees they agree (checked in debug builds).
    public init(shape: [Int], values: [Element]) {
        assert(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }

    /// The single value of a scalar or one-element array.
    public var scalar: Element? { values.count == 1 ? values[0] : nil }
}
