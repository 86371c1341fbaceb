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
}

extension Float: CommunicatorScalar {
    /// `MPI_FLOAT`.
    public static var communicatorKind: CommunicatorScalarKind { .float32 }
}

extension Double: CommunicatorScalar {
    /// `MPI_DOUBLE`.
    public static var communicatorKind: CommunicatorScalarKind { .float64 }
}
