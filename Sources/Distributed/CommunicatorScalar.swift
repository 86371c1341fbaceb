/// The element kinds a ``Communicator`` moves and sums.
public enum CommunicatorScalarKind: Sendable {
    /// 32-bit IEEE floats (`MPI_FLOAT`).
    case float32
    /// 64-bit IEEE floats (`MPI_DOUBLE`).
    case float64
}

/// A floating-point type whose buffers a ``Communicator`` can broadcast, gather and sum:
/// `Float` and `Double`.
public protocol CommunicatorScalar: BinaryFloatingPoint, Sendable {
    /// Which MPI datatype carries this type.
    static var communicatorKind: CommunicatorScalarKind { get }

    /// `sums[i] += values[i]` for every `i` (the buffers have the same count), in index order.
    /// A requirement rather than a generic loop: the reductions run it from code that is
    /// generic over the scalar, where a per-element generic `+=` was measured 5x slower
    /// than the whole training step (`batchwise-bench distributed`).
    static func add(_ values: UnsafeBufferPointer<Self>, to sums: UnsafeMutableBufferPointer<Self>)
}

extension CommunicatorScalar {
    /// The concrete types' loop, compiled for each of them.
    @inline(__always)
    static func elementwiseAdd(_ values: UnsafeBufferPointer<Self>, to sums: UnsafeMutableBufferPointer<Self>) {
        precondition(values.count == sums.count, "add(_:to:): \(values.count) values for \(sums.count) sums")
        guard let source = values.baseAddress, let target = sums.baseAddress else { return }
        for index in 0..<values.count { target[index] += source[index] }
    }
}

extension Float: CommunicatorScalar {
    /// `MPI_FLOAT`.
    public static var communicatorKind: CommunicatorScalarKind { .float32 }
    /// `sums[i] += values[i]`, in index order.
    public static func add(_ values: UnsafeBufferPointer<Float>, to sums: UnsafeMutableBufferPointer<Float>) {
        elementwiseAdd(values, to: sums)
    }
}

extension Double: CommunicatorScalar {
    /// `MPI_DOUBLE`.
    public static var communicatorKind: CommunicatorScalarKind { .float64 }
    /// `sums[i] += values[i]`, in index order.
    public static func add(_ values: UnsafeBufferPointer<Double>, to sums: UnsafeMutableBufferPointer<Double>) {
        elementwiseAdd(values, to: sums)
    }
}
