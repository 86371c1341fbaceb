import Foundation
import Training

/// A folder of checkpoints written by ``CheckpointDirectory``, opened for reading only: it
/// lists them, finds the newest and loads it, with no optimizer configuration (each file
/// records its own) and without creating or pruning anything.
///
/// ```swift
/// let folder = CheckpointDirectoryReader(url: runFolder)
/// if let loaded = try folder.loadLatest() {
///     var trainer = Trainer(model: loaded.snapshot.model, optimizer: loaded.makeOptimizer(),
///                           loss: loaded.loss ?? .meanSquaredError)
///     try trainer.fit(data, epochs: 10, resumingFrom: loaded.snapshot)
/// }
/// ```
public struct CheckpointDirectoryReader: Sendable {
    /// The folder holding `ckpt-<globalStep>.h5` files.
    public let url: URL

    /// Opens `url` for reading; nothing is touched until a method is called.
    public init(url: URL) {
        self.url = url
    }

    /// The checkpoints present, oldest first (by global step); other files are ignored.
    /// - Throws: ``CheckpointError/invalidCheckpoint(file:object:reason:)`` naming the
    ///   folder when it does not exist or cannot be listed.
    public func checkpoints() throws -> [(globalStep: Int, url: URL)] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: url.path)
        } catch {
            throw CheckpointError.invalidCheckpoint(file: url.path, object: "", reason: "cannot list folder: \(error.localizedDescription)")
        }
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("ckpt-"), name.hasSuffix(".h5"),
                  let step = Int(name.dropFirst(5).dropLast(3)) else { return nil }
            return (step, url.appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    /// The newest checkpoint, or `nil` when the folder holds none.
    /// - Throws: as ``checkpoints()``: a missing folder is an error, not "no checkpoint",
    ///   so that a mistyped path does not silently start training from scratch.
    public func latest() throws -> URL? {
        try checkpoints().last?.url
    }

    /// The newest checkpoint, loaded as ``NativeCheckpoint/load(from:into:mode:)`` does, or
    /// `nil` when the folder holds none.
    /// - Parameters:
    ///   - model: a model to load into; `nil` builds it from the file's architecture.
    ///   - mode: `.strict` (every variable must match) or `.partial`.
    public func loadLatest(into model: Sequential? = nil, mode: NativeCheckpoint.LoadMode = .strict) throws -> LoadedCheckpoint? {
        guard let newest = try latest() else { return nil }
        return try NativeCheckpoint.load(from: newest, into: model, mode: mode)
    }
}
