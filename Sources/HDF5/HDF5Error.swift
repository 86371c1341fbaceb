import Foundation

/// Everything that can go wrong in the HDF5 module, naming the file and object involved.
///
/// Library failures carry the message read from libhdf5's error stack (outermost API
/// description, then the innermost cause, e.g. an errno text); nothing is printed to stderr.
///
/// ```swift
/// do { _ = try HDF5File.open(at: URL(fileURLWithPath: "missing.h5")) }
/// catch let error as HDF5Error { print(error.localizedDescription) }
/// // HDF5 open failed for missing.h5: unable to open file (... 'No such file or directory' ...)
/// ```
public enum HDF5Error: Error, LocalizedError, Equatable, Sendable {
    /// libhdf5 reported a failure for `operation`; `object` is "" for file-level operations.
    case library(operation: String, file: String, object: String, message: String)
    /// No group, dataset or attribute exists at the path.
    case notFound(file: String, object: String)
    /// The object exists but is not of the kind asked for (e.g. a group opened as a dataset).
    case wrongKind(file: String, object: String, expected: String, actual: String)
    /// The stored element type cannot be read losslessly as the requested Swift type.
    case elementTypeMismatch(file: String, object: String, stored: String, requested: String)
    /// Shapes or element counts do not agree.
    case shapeMismatch(file: String, object: String, expected: [Int], actual: [Int])
    /// An argument was invalid (bad row range, bad chunk shape, empty path...).
    case invalidArgument(file: String, object: String, reason: String)
    /// The file (or the object, via its file) was already closed.
    case closed(file: String, object: String)
    /// A dataset's stored shape describes more data than can exist: its byte size overflows,
    /// exceeds what the file holds for it, or exceeds this machine's memory. `shape` is given
    /// as text because a corrupted dimension may not fit in `Int`.
    case implausibleSize(file: String, object: String, shape: [String], reason: String)
    /// An operating-system call (fsync, rename...) failed during an atomic write.
    case system(operation: String, file: String, errno: Int32, message: String)
    /// A dataset's data passes through a filter (compression) that the linked libhdf5 does not
    /// have, e.g. LZF or Blosc written by h5py: `filter` is its name, `filterID` its registered number.
    case filterUnavailable(file: String, object: String, filter: String, filterID: Int)
    /// The file uses a format feature (a version of an on-disk structure) that the linked
    /// libhdf5 `libraryVersion` cannot decode: written by a newer HDF5, or corrupted. `feature`
    /// names the structure (e.g. "dataset layout message"), `message` is libhdf5's own text.
    case unsupportedFormat(file: String, object: String, libraryVersion: String, feature: String, message: String)

    /// One line naming the file, the object path and libhdf5's own message, for logs and command-line output.
    public var errorDescription: String? {
        switch self {
        case let .library(operation, file, object, message):
            return "HDF5 \(operation) failed for \(Self.place(file, object)): \(message)"
        case let .notFound(file, object):
            return "HDF5: no object at \(Self.place(file, object))"
        case let .wrongKind(file, object, expected, actual):
            return "HDF5: \(Self.place(file, object)) is a \(actual), not a \(expected)"
        case let .elementTypeMismatch(file, object, stored, requested):
            return "HDF5: \(Self.place(file, object)) stores \(stored), which cannot be read as \(requested)"
        case let .shapeMismatch(file, object, expected, actual):
            return "HDF5: shape mismatch at \(Self.place(file, object)): expected \(expected), got \(actual)"
        case let .invalidArgument(file, object, reason):
            return "HDF5: invalid argument for \(Self.place(file, object)): \(reason)"
        case let .closed(file, object):
            return "HDF5: \(Self.place(file, object)) used after its file was closed"
        case let .implausibleSize(file, object, shape, reason):
            return "HDF5: \(Self.place(file, object)) claims shape [\(shape.joined(separator: ", "))]: \(reason)"
        case let .system(operation, file, errno, message):
            return "HDF5 \(operation) failed for \(file): errno \(errno) (\(message))"
        case let .filterUnavailable(file, object, filter, filterID):
            return "HDF5: \(Self.place(file, object)) is stored with the \(filter) filter (id \(filterID)), which the linked "
                + "libhdf5 does not have; install its HDF5 plugin (HDF5_PLUGIN_PATH) or rewrite the dataset without it (h5repack -f NONE)"
        case let .unsupportedFormat(file, object, libraryVersion, feature, message):
            return "HDF5: \(Self.place(file, object)) uses a newer HDF5 format than the linked libhdf5 \(libraryVersion) can read "
                + "(\(feature): \(message)); it was written by a newer HDF5, or it is corrupted"
        }
    }

    private static func place(_ file: String, _ object: String) -> String {
        object.isEmpty ? file : "\(file):\(object)"
    }
}
