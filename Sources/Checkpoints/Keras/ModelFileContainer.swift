import Foundation

/// The container kind a model file's first bytes announce, so formats are chosen by content
/// rather than trusting names (a third format plugs in with its own magic or layout check).
///
/// ```swift
/// if try ModelFileContainer(sniffing: url) == .zip { /* a .keras archive */ }
/// ```
public enum ModelFileContainer: Sendable, Equatable {
    /// A zip archive (`.keras`), an HDF5 file (native checkpoint, `.weights.h5`, legacy `.h5`), or neither.
    case zip, hdf5, other

    /// The container kind announced by the first 8 bytes of `url`.
    /// - Throws: ``CheckpointError/invalidFile(file:message:)`` when the file is missing, a
    ///   folder, unreadable or empty.
    public init(sniffing url: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CheckpointError.invalidFile(file: url.path, message: "no such file")
        }
        guard !isDirectory.boolValue else { throw CheckpointError.invalidFile(file: url.path, message: "is a directory") }
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw CheckpointError.invalidFile(file: url.path, message: "cannot be read: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        let bytes = [UInt8]((try? handle.read(upToCount: 8)) ?? Data())
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06]) { self = .zip; return }
        if bytes == [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A] { self = .hdf5; return }
        if bytes.isEmpty { throw CheckpointError.invalidFile(file: url.path, message: "the file is empty") }
        self = .other
    }
}
