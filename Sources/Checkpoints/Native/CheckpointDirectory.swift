import Foundation
import HDF5
import Training

/// A folder of native checkpoints named `ckpt-<globalStep>.h5`, keeping the last `keepLast`.
///
/// Each save is atomic (see ``NativeCheckpoint``); afterwards older checkpoints beyond
/// `keepLast` are deleted, and so are temporary files left by crashed saves (those whose
/// writing process no longer exists).
///
/// ```swift
/// let checkpoints = try CheckpointDirectory(url: runFolder, keepLast: 3, optimizer: OptimizerConfig(adam))
/// try trainer.fit(data, epochs: 10, callbacks: [checkpoints.callback(frequency: .everySteps(500))])
/// let resumed = try NativeCheckpoint.load(from: checkpoints.latest!)
/// ```
///
/// Reading a folder needs no optimizer configuration: ``CheckpointDirectoryReader`` lists,
/// finds and loads its checkpoints (`try CheckpointDirectoryReader(url: runFolder).loadLatest()`).
public struct CheckpointDirectory: Sendable {
    /// The folder holding `ckpt-<globalStep>.h5` files.
    public let url: URL
    /// How many of the newest checkpoints are kept; older ones are deleted after each save.
    public let keepLast: Int
    /// The optimizer's kind and hyper-parameters, recorded in every file.
    public let optimizer: OptimizerConfig
    /// Recorded in every file so that resuming needs no loss argument.
    public let loss: Loss?
    /// The architecture JSON written in every file; `nil` derives it from each snapshot's
    /// model. The structure does not change during a run, so passing it once saves the
    /// JSON work (a few ms) on every save.
    public let architecture: String?
    /// Whether each save is fsynced (see ``/HDF5/HDF5Durability``). With frequent saves and
    /// `keepLast` > 1, `.processCrashSafe` avoids an fsync stall per save at the price of
    /// possibly losing the newest files (never the folder's consistency) on a power cut.
    public let durability: HDF5Durability

    /// Creates the folder if needed.
    public init(url: URL, keepLast: Int = 3, optimizer: OptimizerConfig, loss: Loss? = nil,
                architecture: String? = nil, durability: HDF5Durability = .synced) throws {
        guard keepLast >= 1 else {
            throw CheckpointError.unsupported(file: url.path, what: "keepLast must be at least 1, got \(keepLast)")
        }
        self.url = url
        self.keepLast = keepLast
        self.optimizer = optimizer
        self.loss = loss
        self.architecture = architecture
        self.durability = durability
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError.invalidCheckpoint(file: url.path, object: "", reason: "cannot create folder: \(error.localizedDescription)")
        }
    }

    /// The file a snapshot at `globalStep` is written to.
    public func fileURL(globalStep: Int) -> URL {
        url.appendingPathComponent("ckpt-\(globalStep).h5")
    }

    /// Writes `snapshot` atomically, then prunes. Returns the file written.
    @discardableResult
    public func save(_ snapshot: TrainingSnapshot) throws -> URL {
        let target = fileURL(globalStep: snapshot.globalStep)
        try NativeCheckpoint.save(snapshot, optimizer: optimizer, to: target, loss: loss, architecture: architecture,
                                  durability: durability)
        try prune()
        return target
    }

    /// The checkpoints present, oldest first (by global step).
    public func checkpoints() throws -> [(globalStep: Int, url: URL)] {
        try reader.checkpoints()
    }

    /// The same folder opened for reading only; ``CheckpointDirectoryReader/init(url:)``
    /// opens one without an optimizer configuration.
    public var reader: CheckpointDirectoryReader { CheckpointDirectoryReader(url: url) }

    /// The newest checkpoint, if any.
    public var latest: URL? { (try? checkpoints())?.last?.url }

    /// A ``/Training/CheckpointCallback`` that saves here on `frequency`.
    public func callback(frequency: CheckpointCallback.Frequency) -> CheckpointCallback {
        let directory = self
        return CheckpointCallback(frequency: frequency) { snapshot in try directory.save(snapshot) }
    }

    /// Deletes checkpoints beyond the newest `keepLast` and temporaries of dead writers.
    public func prune() throws {
        let all = try checkpoints()
        for old in all.dropLast(keepLast) { try remove(old.url) }
        do {
            // The same rule `NativeCheckpoint.save` applies to its own target, for every name here.
            try HDF5File.removeStaleTemporaries(in: url) { $0.hasPrefix(".ckpt-") && $0.contains(".h5.tmp-") }
        } catch {
            throw CheckpointError.invalidCheckpoint(file: url.path, object: "", reason: "cannot remove stale temporaries: \(error.localizedDescription)")
        }
    }

    private func remove(_ file: URL) throws {
        do {
            try FileManager.default.removeItem(at: file)
        } catch {
            throw CheckpointError.invalidCheckpoint(file: file.path, object: "", reason: "cannot delete: \(error.localizedDescription)")
        }
    }

}
