import Foundation
import HDF5
import Training

/// Batchwise's own checkpoint: ONE HDF5 file holding everything a `fit` needs to continue
/// exactly — architecture, variables, optimizer, RNG states, pipeline position, epoch/step,
/// history — laid out for h5py readers (layout: <doc:CheckpointFileLayout>).
///
/// Saving is atomic (temporary file, checked close, fsync, rename, directory fsync) and first
/// removes temporaries that killed saves of the same file left behind; loading is strict
/// unless asked otherwise.
///
/// ```swift
/// try NativeCheckpoint.save(snapshot, optimizer: OptimizerConfig(adam), to: url)
/// let loaded = try NativeCheckpoint.load(from: url)                 // model built from the file
/// let same = try NativeCheckpoint.load(from: url, into: myModel)    // or into a given model
/// var trainer = Trainer(model: loaded.snapshot.model, optimizer: loaded.makeOptimizer(), loss: .meanSquaredError)
/// try trainer.fit(data, epochs: 5, resumingFrom: loaded.snapshot)
/// ```
public enum NativeCheckpoint {
    /// The value of the root `format` attribute.
    public static let formatName = "batchwise-checkpoint"
    /// The layout version this code writes (root `format_version`); it reads this and older.
    /// Version 2 added the required `/model` attribute `input_shape` (the shape of one input
    /// example, so image models checkpoint); version 1 files record only `input_features`.
    public static let formatVersion: Int64 = 2
    /// Written as the root `batchwise_version` attribute.
    public static let batchwiseVersion = "0.1.0"
    /// The BatchNormalization conventions stored next to the statistics, because frameworks
    /// disagree (PyTorch's momentum is Keras's 1 − momentum; PyTorch keeps the unbiased variance).
    public static let batchNormMomentumConvention = "moving = momentum*moving + (1-momentum)*batch"
    /// The variance convention stored beside the moving variance.
    public static let batchNormVarianceConvention = "biased (divide by N)"

    /// How ``load(from:into:mode:)`` treats differences between the file and the model.
    public enum LoadMode: Sendable, Equatable {
        /// Any missing or unexpected variable, shape or dtype difference is an error listing
        /// every difference.
        case strict
        /// Loads what matches (by name, shape and dtype), skips the rest and reports it in
        /// ``LoadedCheckpoint/skipped`` — for transfer learning.
        case partial
    }

    /// Writes `snapshot` atomically to `url`.
    ///
    /// The file appears complete or not at all: it is written beside `url` under a temporary
    /// name and renamed over it, so a crash mid-save never destroys the previous checkpoint.
    /// - Parameters:
    ///   - snapshot: the model, optimizer state, pipeline position, counters and history.
    ///   - optimizer: the optimizer's kind and hyper-parameters (its state comes from
    ///     the snapshot). A resume checks the trainer's optimizer against it, so record the
    ///     optimizer the state belongs to (`OptimizerConfig(trainer.optimizer)`).
    ///   - url: the checkpoint file; an existing file is replaced.
    ///   - loss: stored as the root `loss` attribute (Keras name) so that a resume
    ///     needs no `--loss`.
    ///   - architecture: the model's Keras configuration JSON; by default from
    ///     `KerasModelConfig.json(for:)`. When that is unavailable the file has no `model_config`
    ///     and can only be loaded into a given model.
    ///   - created: the timestamp stored in the `created` attribute; fixed in tests that compare
    ///     files byte for byte.
    ///   - durability: `.synced` (default) fsyncs the file and its folder, so the
    ///     checkpoint survives a power cut; `.processCrashSafe` skips the fsyncs (still atomic
    ///     for readers and killed processes) for frequent, replaceable saves.
    /// - Throws: ``CheckpointError/invalidCheckpoint(file:object:reason:)`` naming both optimizers
    ///   when `optimizer` is not the one the snapshot was trained with (another kind, or a
    ///   setting other than the learning rate), so no file holds one optimizer's state under
    ///   another's name.
    public static func save(_ snapshot: TrainingSnapshot, optimizer: OptimizerConfig, to url: URL,
                            loss: Loss? = nil, architecture: String? = nil, created: Date = Date(),
                            durability: HDF5Durability = .synced) throws {
        // A file labelled with another optimizer than the one whose slots it holds would load
        // and resume silently wrong (e.g. Adam's moments read as SGD momentum).
        if let trained = snapshot.optimizerIdentity, trained != optimizer.identity {
            throw CheckpointError.invalidCheckpoint(
                file: url.path, object: "/optimizer",
                reason: "cannot save: the snapshot's optimizer state is from \(trained), but the optimizer "
                    + "given is \(optimizer.identity); save with the optimizer the snapshot was trained with")
        }
        let json = architecture ?? (try? KerasModelConfig.json(for: snapshot.model))
        // Temporaries of earlier saves that were killed (`.NAME.tmp-<deadpid>-*`) would stay
        // forever otherwise; removing them first also frees their space for this save. Best
        // effort: a save must not fail because an old leftover cannot be deleted.
        _ = try? HDF5File.removeStaleTemporaries(of: url)
        do {
            try HDF5File.atomicWrite(to: url, inMemory: true, durability: durability) { file in
                try NativeCheckpointWriter(file: file, destination: url.path).write(snapshot, optimizer: optimizer, loss: loss,
                                                             architecture: json, created: created)
            }
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError.invalidCheckpoint(file: url.path, object: "/",
                                                    reason: "cannot save: \(error.localizedDescription)")
        }
    }

    /// Whether `url` is an HDF5 file whose root `format` attribute names a Batchwise checkpoint
    /// (Keras legacy `.h5` files also carry a root `model_config`, so that alone is not enough).
    public static func isCheckpoint(at url: URL) throws -> Bool {
        guard let file = try? HDF5File.open(at: url, locking: .bestEffort) else { return false }
        defer { try? file.close() }
        guard try file.hasAttribute("format") else { return false }
        return (try? file.readAttribute("format", as: String.self)) == formatName
    }

    /// Reads a checkpoint written by ``save(_:optimizer:to:loss:architecture:created:durability:)``.
    /// - Parameters:
    ///   - url: a file written by this method's counterpart or by `batchwise train`.
    ///   - model: the model to load into; `nil` builds it from the stored architecture
    ///     (`KerasModelConfig.model(fromJSON:file:)`).
    ///   - mode: `.strict` (default) or `.partial`.
    /// - Throws: ``CheckpointError/variableMismatch(file:differences:)`` listing every
    ///   difference in strict mode; ``CheckpointError/invalidCheckpoint(file:object:reason:)``
    ///   for files that are not Batchwise checkpoints.
    public static func load(from url: URL, into model: Sequential? = nil, mode: LoadMode = .strict) throws -> LoadedCheckpoint {
        let file: HDF5File
        do {
            file = try HDF5File.open(at: url, locking: .bestEffort)
        } catch {
            throw CheckpointError.invalidCheckpoint(file: url.path, object: "/",
                                                    reason: "cannot open: \(error.localizedDescription)")
        }
        defer { try? file.close() }
        return try NativeCheckpointReader(file: file).read(into: model, mode: mode)
    }
}
