import Foundation

/// Why a checkpoint or Keras file could not be saved or loaded. Cases name the file and,
/// where it applies, the object path, layer or variable at fault.
public enum CheckpointError: Error, Equatable, Sendable, LocalizedError {
    /// The file uses something Batchwise does not support (a layer class, an option).
    case unsupported(file: String, what: String)

    public var errorDescription: String? {
        switch self {
        case let .unsupported(file, what):
            return "\(file): \(what)"
        }
    }
}
