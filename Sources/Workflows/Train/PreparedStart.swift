import Checkpoints
import Foundation
import HDF5
import Training

/// What a ``TrainJob`` starts from — model, optimizer state and kind, loss, and for a resume
/// the whole snapshot — stored as a native checkpoint that Batchwise itself wrote.
///
/// `batchwise train` loads the user's model or checkpoint in a child process (libhdf5 1.10
/// can crash on corrupted files, sometimes only under one memory layout) and hands the
/// training process this copy instead. A native checkpoint already round-trips every piece
/// bit for bit (the exact-resume guarantee); two root attributes record what it cannot say
/// by itself: whether the start is a resume, and whether the source named an optimizer.
///
/// ```swift
/// try job.loadStartingPoint().write(to: copy)      // in the child
/// job.preparedStart = copy                          // in the parent
/// ```
package struct PreparedStart {
    let start: TrainJob.Start

    private static let resumeAttribute = "prepared_start_is_resume"
    private static let optimizerAttribute = "prepared_start_has_optimizer"
    /// `[name, JSON path]` of a compile-config optimizer / loss Batchwise cannot run, so that
    /// the training process names it as the source file did.
    private static let unsupportedOptimizerAttribute = "prepared_start_unsupported_optimizer"
    private static let unsupportedLossAttribute = "prepared_start_unsupported_loss"

    /// Writes the start atomically to `url` (no fsync: the copy lives as long as one command).
    package func write(to url: URL) throws {
        let snapshot = start.snapshot ?? TrainingSnapshot(
            model: start.model, optimizerState: start.optimizerState, iteratorState: nil,
            epoch: 0, stepInEpoch: 0, globalStep: 0, history: History())
        // A source without an optimizer still needs one in the file; the attribute below
        // makes the reader ignore it.
        let optimizer = start.fileOptimizer ?? .sgd(learningRate: 0.01, momentum: 0, nesterov: false)
        try NativeCheckpoint.save(snapshot, optimizer: optimizer, to: url, loss: start.loss, durability: .processCrashSafe)
        let file = try HDF5File.open(at: url, mode: .readWrite, locking: .disabled)
        defer { try? file.close() }
        try file.setAttribute(Self.resumeAttribute, Int8(start.snapshot == nil ? 0 : 1))
        try file.setAttribute(Self.optimizerAttribute, Int8(start.fileOptimizer == nil ? 0 : 1))
        for (entry, attribute) in [(start.unsupportedOptimizer, Self.unsupportedOptimizerAttribute),
                                   (start.unsupportedLoss, Self.unsupportedLossAttribute)] {
            if let entry { try file.setAttribute(attribute, [entry.name, entry.path]) }
        }
        try file.close()
    }

    /// Reads a start written by ``write(to:)``.
    static func read(from url: URL) throws -> PreparedStart {
        let (isResume, hasOptimizer): (Bool, Bool)
        var unsupported: [TrainJob.CompileConfigEntry?] = []
        do {
            let file = try HDF5File.open(at: url, locking: .disabled)
            defer { try? file.close() }
            isResume = try file.readAttribute(resumeAttribute, as: Int8.self) != 0
            hasOptimizer = try file.readAttribute(optimizerAttribute, as: Int8.self) != 0
            for attribute in [unsupportedOptimizerAttribute, unsupportedLossAttribute] {
                let pair = try file.hasAttribute(attribute) ? try file.readAttribute(attribute, as: [String].self) : []
                unsupported.append(pair.count == 2 ? TrainJob.CompileConfigEntry(name: pair[0], path: pair[1]) : nil)
            }
        } catch {
            throw CheckpointError.invalidCheckpoint(file: url.path, object: "/",
                                                    reason: "not a prepared training start: \(error.localizedDescription)")
        }
        let loaded = try NativeCheckpoint.load(from: url)
        return PreparedStart(start: TrainJob.Start(
            model: loaded.snapshot.model, optimizerState: loaded.snapshot.optimizerState,
            fileOptimizer: hasOptimizer ? loaded.optimizer : nil, loss: loaded.loss,
            snapshot: isResume ? loaded.snapshot : nil, unsupportedOptimizer: unsupported[0], unsupportedLoss: unsupported[1]))
    }
}
