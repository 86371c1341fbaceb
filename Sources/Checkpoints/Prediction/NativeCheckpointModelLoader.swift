import Foundation
import Training

/// Native Batchwise checkpoints (``NativeCheckpoint``) as model files for `predict`:
/// the model is rebuilt from the stored architecture and every variable loaded strictly.
public enum NativeCheckpointModelLoader: ModelFileLoader {
    public static let formatName = "Batchwise checkpoint"

    public static func canLoad(_ url: URL) throws -> Bool {
        guard case .hdf5 = try ModelFileSniffer.magic(of: url) else { return false }
        return (try? NativeCheckpoint.isNativeCheckpoint(url)) == true
    }

    public static func loadModel(_ url: URL) throws -> Sequential {
        try NativeCheckpoint.load(from: url).snapshot.model
    }
}
