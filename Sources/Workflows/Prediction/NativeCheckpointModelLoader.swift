import Checkpoints
import Foundation
import Training

/// Native Batchwise checkpoints (``/Checkpoints/NativeCheckpoint``) as model files for `predict`:
/// the model is rebuilt from the stored architecture and every variable loaded strictly.
///
/// ```swift
/// if try NativeCheckpointModelLoader.canLoad(url) {
///     let model = try NativeCheckpointModelLoader.loadModel(url)
/// }
/// ```
public enum NativeCheckpointModelLoader: ModelFileLoader {
    /// Used in error messages that list the formats tried.
    public static let formatName = "Batchwise checkpoint"

    /// True for HDF5 files whose root `format` attribute is `batchwise-checkpoint`.
    public static func canLoad(_ url: URL) throws -> Bool {
        guard case .hdf5 = try ModelFileContainer(sniffing: url) else { return false }
        return (try? NativeCheckpoint.isCheckpoint(at: url)) == true
    }

    /// The model rebuilt from the checkpoint's stored architecture, with its weights.
    public static func loadModel(_ url: URL) throws -> Sequential {
        try NativeCheckpoint.load(from: url).snapshot.model
    }
}
