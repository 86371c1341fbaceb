import Foundation

/// Why a checkpoint or Keras file could not be saved or loaded. Cases name the file and,
/// where it applies, the object path, layer or variable at fault.
///
/// ```swift
/// do { _ = try KerasModelFile.load(url) }
/// catch let error as CheckpointError { print(error.localizedDescription) }
/// // "m.keras: layer 'unit_normalization' (UnitNormalization): this layer class is not supported"
/// ```
public enum CheckpointError: Error, Equatable, Sendable, LocalizedError {
    /// The file uses something Batchwise does not support (a layer class, an option).
    case unsupported(file: String, what: String)

    /// A native checkpoint's variables (or optimizer slots, or RNG states) do not match the
    /// model: every difference, by name, expected vs found.
    case variableMismatch(file: String, differences: [String])

    /// A required object or attribute of a native checkpoint is missing or malformed.
    case invalidCheckpoint(file: String, object: String, reason: String)

    /// A layer of the model configuration cannot be represented exactly: its class
    /// (`option == nil`) or one option (`option`, with the offending `value`).
    case unsupportedLayer(file: String, layer: String, className: String, option: String?, value: String?)

    /// An optimizer or learning-rate schedule of a compile config (or checkpoint) that Batchwise
    /// cannot reproduce exactly: its class (`option == nil`) or one option, at `path` in the config.
    case unsupportedOptimizer(file: String, path: String, className: String, option: String?, value: String?)

    /// The model configuration JSON is malformed or describes something impossible
    /// (absurd sizes, a graph that is not a single chain). `path` locates the JSON value.
    case invalidModelConfig(file: String, path: String, message: String)

    /// An object the format requires is absent (a variable dataset, a zip member, an attribute).
    case missingObject(file: String, path: String, message: String)

    /// A stored variable's shape differs from the model's.
    case variableShapeMismatch(file: String, path: String, layer: String, variable: String, expected: [Int], found: [Int])

    /// A layer's group holds a different number of variables than the layer has.
    case variableCountMismatch(file: String, path: String, layer: String, expected: Int, found: Int)

    /// The file is not a readable archive / HDF5 file of the expected format.
    case invalidFile(file: String, message: String)

    /// One line (or one line per difference) naming the file and the object.
    public var errorDescription: String? {
        switch self {
        case let .unsupported(file, what):
            // OptimizerConfig(_:) refuses an optimizer before any file is involved.
            return file.isEmpty ? what : "\(file): \(what)"
        case let .variableMismatch(file, differences):
            return "\(file): the checkpoint does not match the model (\(differences.count) "
                + "difference\(differences.count == 1 ? "" : "s")): " + differences.joined(separator: "; ")
        case let .invalidCheckpoint(file, object, reason):
            return "\(file): \(object): \(reason)"
        case let .unsupportedLayer(file, layer, className, option, value):
            guard let option else {
                return "\(file): layer '\(layer)' (\(className)): this layer class is not supported"
            }
            return "\(file): layer '\(layer)' (\(className)): option \(option) = \(value ?? "?") is not supported"
        case let .unsupportedOptimizer(file, path, className, option, value):
            guard let option else {
                return "\(file): \(path): optimizer or schedule class \(className) is not supported"
            }
            return "\(file): \(path): \(className) option \(option) = \(value ?? "?") is not supported"
        case let .invalidModelConfig(file, path, message):
            return "\(file): model config \(path): \(message)"
        case let .missingObject(file, path, message):
            return "\(file): \(path): \(message)"
        case let .variableShapeMismatch(file, path, layer, variable, expected, found):
            return "\(file): \(path): layer '\(layer)' variable '\(variable)' expects shape \(expected), found \(found)"
        case let .variableCountMismatch(file, path, layer, expected, found):
            return "\(file): \(path): layer '\(layer)' has \(expected) variables, the file holds \(found)"
        case let .invalidFile(file, message):
            return "\(file): \(message)"
        }
    }
}

extension CheckpointError {
    /// This error naming `file` when it names none: writers deep inside a save (a layer's
    /// Keras entry, the JSON text) do not know which file they write for.
    func naming(file: String) -> CheckpointError {
        switch self {
        case let .unsupported("", what): return .unsupported(file: file, what: what)
        case let .invalidModelConfig("", path, message): return .invalidModelConfig(file: file, path: path, message: message)
        default: return self
        }
    }
}
