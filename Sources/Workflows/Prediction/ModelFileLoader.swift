import Checkpoints
import Foundation
import Training

/// One model-file format that can produce a ready ``/Training/Sequential``. ``ModelFiles`` asks each
/// registered loader in turn; adding a format means adding a type to
/// ``ModelFiles/loaders``.
///
/// ```swift
/// struct MyFormatLoader: ModelFileLoader {
///     static let formatName = "my format"
///     static func canLoad(_ url: URL) throws -> Bool { url.pathExtension == "mine" }
///     static func loadModel(_ url: URL) throws -> Sequential { try readMyFormat(url) }
/// }
/// ```
public protocol ModelFileLoader: Sendable {
    /// A short name for messages.
    static var formatName: String { get }
    /// Whether this loader recognizes the file (by content where possible).
    static func canLoad(_ url: URL) throws -> Bool
    /// The model with its weights.
    static func loadModel(_ url: URL) throws -> Sequential
}

/// Keras `.keras` archives and legacy tf.keras full-model `.h5` files.
///
/// ```swift
/// let model = try KerasModelFileLoader.loadModel(URL(fileURLWithPath: "model.keras"))
/// ```
public enum KerasModelFileLoader: ModelFileLoader {
    /// Used in error messages that list the formats tried.
    public static let formatName = "Keras model"

    /// True for zip archives and for HDF5 files with a Keras `model_config`.
    public static func canLoad(_ url: URL) throws -> Bool {
        switch try ModelFileContainer(sniffing: url) {
        case .zip: return true
        case .hdf5: return (try? KerasModelFile.format(of: url)) != nil
        case .other: return false
        }
    }

    /// The model of a `.keras` archive or legacy `.h5` file, without its optimizer.
    public static func loadModel(_ url: URL) throws -> Sequential { try KerasModelFile.load(url).model }
}

/// The registry of model-file formats, in the order they are tried.
///
/// ```swift
/// let model = try ModelFiles.loadModel(URL(fileURLWithPath: "model.keras"))
/// ```
public enum ModelFiles {
    /// Known loaders; the first whose ``ModelFileLoader/canLoad(_:)`` is true loads the file.
    public static let loaders: [any ModelFileLoader.Type] = [NativeCheckpointModelLoader.self, KerasModelFileLoader.self]

    /// The model in `url`, loaded by the first of ``loaders`` that recognizes the file.
    /// - Throws: ``WorkflowError/unknownModelFormat(file:formats:)`` naming the formats tried when none does.
    public static func loadModel(_ url: URL) throws -> Sequential {
        for loader in loaders {
            let recognized = try loader.canLoad(url)
            if recognized { return try loader.loadModel(url) }
        }
        throw WorkflowError.unknownModelFormat(file: url.path, formats: loaders.map { $0.formatName })
    }
}
