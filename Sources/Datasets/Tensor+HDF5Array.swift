import HDF5
import Tensors

// Datasets is the lowest module that sees both HDF5 and Tensors (docs/ARCHITECTURE.md), so the
// conversion from what `HDF5File.read` returns to what a model takes lives here.

extension Tensor where Scalar: HDF5Scalar {
    /// The values of an HDF5 array, with its shape: the one line from `HDF5File.read` to a tensor.
    ///
    /// ```swift
    /// let x = try Tensor(file.read("/x", as: Float.self))          // Tensor<Float>, the file's shape
    /// let y = try Tensor<Float>(file.read("/y", as: Int64.self))   // integer labels as Float
    /// ```
    /// - Throws: `DatasetError.arrayConversionFailed` when the shape does
    ///   not hold the values (an `HDF5Array` whose fields were edited apart) or has a negative dimension.
    public init(_ array: HDF5Array<Scalar>) throws {
        self = try Self.checked(shape: array.shape, scalars: array.values, from: Scalar.self)
    }

    static func checked<Source>(shape: [Int], scalars: [Scalar], from source: Source.Type) throws -> Tensor {
        do {
            return try Tensor(shape: shape, scalars: scalars)
        } catch {
            throw DatasetError.arrayConversionFailed(from: "\(Source.self)", to: "\(Scalar.self)", shape: shape,
                                                     reason: error.localizedDescription)
        }
    }
}

extension Tensor where Scalar: HDF5Scalar & BinaryFloatingPoint {
    /// Integer values (class labels, counts) as floating point, with the array's shape. Every
    /// value must be exactly representable: `Float` holds integers exactly only up to 2^24, and
    /// a label or an id that silently became its neighbour would be a different label.
    ///
    /// ```swift
    /// let y = try file.read("/y", as: Int64.self)                        // shape [n]
    /// let labels = try Tensor<Float>(y).reshaped(to: [y.values.count, 1])
    /// ```
    /// - Throws: `DatasetError.arrayConversionFailed` naming the first
    ///   value that has no exact `Scalar`, or a shape that does not hold the values.
    public init<Source: HDF5Scalar & BinaryInteger>(_ array: HDF5Array<Source>) throws {
        var scalars: [Scalar] = []
        scalars.reserveCapacity(array.values.count)
        for (index, value) in array.values.enumerated() {
            guard let exact = Scalar(exactly: value) else {
                throw DatasetError.arrayConversionFailed(
                    from: "\(Source.self)", to: "\(Scalar.self)", shape: array.shape,
                    reason: "value \(value) at flat index \(index) has no exact \(Scalar.self) representation")
            }
            scalars.append(exact)
        }
        self = try Self.checked(shape: array.shape, scalars: scalars, from: Source.self)
    }

    /// Floating-point values of another precision, rounded to nearest (as NumPy's `astype`),
    /// with the array's shape. A finite value beyond `Scalar`'s range is refused rather than
    /// turned into infinity.
    ///
    /// ```swift
    /// let x = try Tensor<Float>(file.read("/x", as: Double.self))
    /// ```
    /// - Throws: `DatasetError.arrayConversionFailed` naming the first
    ///   value that overflows, or a shape that does not hold the values.
    public init<Source: HDF5Scalar & BinaryFloatingPoint>(_ array: HDF5Array<Source>) throws {
        var scalars: [Scalar] = []
        scalars.reserveCapacity(array.values.count)
        for (index, value) in array.values.enumerated() {
            let rounded = Scalar(value)
            guard rounded.isFinite || !value.isFinite else {
                throw DatasetError.arrayConversionFailed(
                    from: "\(Source.self)", to: "\(Scalar.self)", shape: array.shape,
                    reason: "value \(value) at flat index \(index) is beyond the range of \(Scalar.self)")
            }
            scalars.append(rounded)
        }
        self = try Self.checked(shape: array.shape, scalars: scalars, from: Source.self)
    }
}
