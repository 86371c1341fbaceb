import Foundation

/// Why a checkpoint or Keras file could not be saved or loaded. Cases name the file and,
/// where it applies, the object path, layer or variable at fault.
public enum CheckpointError: Error, Equatable, Sendable, LocalizedError {
    /// The file uses something Batchwise does not support (a layer class, an option).
    case unsupported(file: String, what: String)
    /// A native checkpoint's variables (or optimizer slots, or RNG states) do not match the
    /// model: every difference, by name, expected vs found.
    case variableMismatch(file: String, differences: [String])
    /// A required object or attribute of a native checkpoint is missing or malformed.
    case invalidCheckpoint(file: String, object: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .unsupported(file, what):
            return "\(file): \(what)"
        case let .variableMismatch(file, differences):
            return "\(file): the checkpoint does not match the model (\(differences.count) "
                + "difference\(differences.count == 1 ? "" : "s")): " + differences.joined(separator: "; ")
        case let .invalidCheckpoint(file, object, reason):
            return "\(file): \(object): \(reason)"
        }
    }
}
