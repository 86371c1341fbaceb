import Foundation
import Training

/// What ``NativeCheckpoint/load(from:into:mode:)`` read: a snapshot to resume from, the
/// optimizer configuration, metadata and, for partial loads, what was skipped.
///
/// ```swift
/// let loaded = try NativeCheckpoint.load(from: url, into: model, mode: .partial)
/// print(loaded.skipped)          // ["missing variable dense_2/kernel (expected float32 [8, 3])"]
/// var trainer = Trainer(model: loaded.snapshot.model, optimizer: loaded.makeOptimizer(), loss: .meanSquaredError)
/// ```
public struct LoadedCheckpoint: Sendable {
    /// The model with the file's variables and RNG states, the optimizer state, iterator
    /// state, position and history.
    public var snapshot: TrainingSnapshot
    /// The optimizer's kind and hyper-parameters.
    public var optimizer: OptimizerConfig
    /// The training loss, when the saver recorded it (root `loss` attribute).
    public var loss: Loss?
    /// The stored Keras model configuration JSON, if the file has one.
    public var architecture: String?
    /// Root attributes `batchwise_version` and `created` (ISO 8601 UTC).
    public var batchwiseVersion: String
    /// When the file was written, ISO 8601 UTC.
    public var created: String
    /// Differences skipped by a `.partial` load (empty for strict loads).
    public var skipped: [String]

    /// The optimizer configured and carrying the checkpoint's state.
    public func makeOptimizer() -> any Optimizer {
        optimizer.makeOptimizer(state: snapshot.optimizerState)
    }
}
