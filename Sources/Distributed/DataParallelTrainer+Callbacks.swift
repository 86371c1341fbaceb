import Datasets
import Foundation
import Tensors
import Training

/// `fit`'s callbacks on several ranks (issue 16 follow-up). Every rank runs the same callbacks
/// on the same global logs, but a callback may still decide differently on one rank (a time
/// budget read from each rank's clock) or fail on one (a full disk); a rank that stopped or
/// threw alone would leave the others waiting in the next step's collectives. So after each
/// group of calls (a step's `stepDidEnd`, an epoch's `epochDidEnd` and saves, `trainingDidStop`)
/// every rank enters one small all-reduce with its outcome (go on, stop, failed) and its
/// learning rate, and all act on the combined outcome:
///
/// - a stop on any rank stops every rank there, with the reason of the lowest rank that
///   stopped (followed by "(rank r)" when not every rank did);
/// - a throw on any rank fails every rank there: that rank throws its own error (as
///   `Trainer.fit`, so `catch TrainingError.nonFiniteLoss` works on any number of ranks), the
///   others ``DataParallelError/callbackFailedOnOtherRank(rank:failedRank:phase:message:)``
///   naming it and carrying its message;
/// - learning rates that differ after an epoch's callbacks (a `ReduceLROnPlateau` deciding on
///   something other than the global logs) throw
///   ``DistributedError/rankDisagreement(operation:rank:quantity:local:minimum:maximum:)`` on every rank.
///
/// The stop and failure messages travel in a second, all-gather, only when there is one. A fit
/// without callbacks enters none of these collectives per step (every `fit` enters one at its
/// start: ``agreeOnResumedStop(at:learningRate:)``, which also carries `trainingWillBegin`'s
/// outcome, so a failure there on one rank fails every rank before any step). That the ranks
/// pass the same callbacks (their kinds, in order) rides in the first step's agreement check
/// (no collective of its own).
///
/// Side effects happen once: `CheckpointCallback` calls its `save` and `CSVLogger` reads and
/// writes its file on rank 0 only (on the others they keep the same schedule and state, so the
/// snapshots stay identical), as `batchwise train` prints and saves on rank 0 only. A callback
/// of your own that writes files should check `communicator.rank` itself.
struct CallbackRun {
    /// This rank's callbacks.
    var callbacks: [any TrainingCallback]
    let communicator: Communicator
    /// A `trainingWillBegin` failure not yet agreed on (it is, in ``agreeOnResumedStop(at:learningRate:)``).
    private var beginFailure: (any Error)?
    /// Whether the ranks have agreed on `trainingWillBegin`'s outcome (in the first
    /// ``agree(phase:learningRate:_:)``, at `fit`'s start).
    private var beginAgreed = false

    /// The quantity of the step's agreement check that says whether a `trainingWillBegin` failed
    /// (0 on every rank when none did; `size − r` on rank `r` when it did, so the largest value
    /// names the lowest rank that failed).
    static let beginQuantity = "callbacks that failed in trainingWillBegin"
    /// The quantity naming the callbacks' kinds (a hash).
    static let kindsQuantity = "fit's callbacks (their kinds, in order)"

    /// `callbacks` for this rank: on ranks other than 0 without the file writes (`CheckpointCallback`'s
    /// `save`, `CSVLogger`'s file).
    init(_ callbacks: [any TrainingCallback], communicator: Communicator) {
        self.communicator = communicator
        guard communicator.rank != 0 else {
            self.callbacks = callbacks
            return
        }
        self.callbacks = callbacks.map { callback in
            if var checkpoints = callback as? CheckpointCallback {
                checkpoints.callsSave = false
                return checkpoints
            }
            if var logger = callback as? CSVLogger {
                logger.writesFile = false
                return logger
            }
            return callback
        }
    }

    /// Whether there are callbacks (the same on every rank, checked with the first step).
    var isActive: Bool { !callbacks.isEmpty }

    /// `trainingWillBegin` of every callback. A failure is agreed on with the first step (alone, at once).
    mutating func begin() throws {
        do {
            try callbacks.trainingWillBegin()
        } catch where communicator.size > 1 {
            beginFailure = error
        }
    }

    /// What the first step's agreement check adds: the callbacks' kinds and whether this rank's
    /// `trainingWillBegin` failed; later steps add the same quantities (each rank's collective has
    /// the same length at every step).
    var stepQuantities: [(name: String, value: Int)] {
        let kinds = DataParallelTrainer.fingerprint(callbacks.map { String(reflecting: type(of: $0)) })
        return [(Self.kindsQuantity, kinds), (Self.beginQuantity, beginFailure == nil ? 0 : communicator.size - communicator.rank)]
    }

    /// Throws what the first step's agreement check found about `trainingWillBegin`: this rank's
    /// own error, or that the lowest failed rank's callbacks failed.
    func beginFailed(maximum: Int) -> any Error {
        if let beginFailure { return beginFailure }
        return DataParallelError.callbackFailedOnOtherRank(
            rank: communicator.rank, failedRank: communicator.size - maximum, phase: "trainingWillBegin",
            message: "a callback refused to begin there (that rank reports its error)")
    }

    /// Marks `trainingWillBegin`'s outcome as agreed (the step's agreement check has run).
    mutating func stepDidAgree() {
        beginAgreed = true
    }

    /// The callbacks' ``TrainingCallback/stopReason(resumingAt:)`` at a `fit`'s start (its
    /// snapshot's position, or the beginning), agreed by every rank: every rank enters it at the
    /// start of every `fit`, callbacks or snapshot or not, so that a snapshot given to some ranks
    /// only leaves none waiting (the first step's agreement names the differing positions). The
    /// ranks restored the same states and so decide alike, but should one answer otherwise,
    /// every rank still stops, or none. Carries a `trainingWillBegin` failure as
    /// the first step's check would.
    mutating func agreeOnResumedStop(at position: ResumePosition, learningRate: Float) throws -> String? {
        // stopReason(resumingAt:) does not throw: a failure agreed here is trainingWillBegin's.
        try agree(phase: "trainingWillBegin", learningRate: { learningRate }) { $0.stopReason(resumingAt: position) }
    }

    /// Runs `body` on the callbacks and agrees with every rank on the outcome (see the type's
    /// comment): returns the stop reason every rank takes, nil to go on, or throws.
    mutating func agree(phase: String, learningRate: () -> Float,
                        _ body: (inout [any TrainingCallback]) throws -> String?) throws -> String? {
        var stop: String?
        var failure: (any Error)?
        var phase = phase
        if !beginAgreed, let beginFailure {
            // The first agreement of the fit (at its start) carries it.
            (failure, phase) = (beginFailure, "trainingWillBegin")
        } else {
            do { stop = try body(&callbacks) } catch { failure = error }
        }
        beginAgreed = true
        let (rank, size) = (communicator.rank, communicator.size)
        guard size > 1 else {
            if let failure { throw failure }
            return stop
        }
        // Rank r's outcome in slot r, its learning rate in slot size + r, zeros elsewhere:
        // the sum is every rank's values exactly.
        var slots = [Double](repeating: 0, count: 2 * size)
        slots[rank] = failure != nil ? 2 : stop != nil ? 1 : 0
        slots[size + rank] = Double(learningRate())
        let operation = "data-parallel fit's callbacks, \(phase)"
        try slots.withUnsafeMutableBufferPointer { try communicator.allReduceSum(agreedLength: $0, operation: operation) }
        let outcomes = slots[0..<size].map(Int.init)
        let rates = slots[size...].map { Float($0).bitPattern }
        if outcomes.allSatisfy({ $0 == 0 }) {
            try Self.checkSame(rates, rank: rank, operation: operation)
            return nil
        }
        let message = failure.map { ($0 as? any LocalizedError)?.errorDescription ?? "\($0)" } ?? stop ?? ""
        let messages = try communicator.allGather(message.utf8.map(Double.init))
            .map { String(decoding: $0.map { UInt8($0) }, as: UTF8.self) }
        if let failed = outcomes.firstIndex(of: 2) {
            if let failure { throw failure }
            throw DataParallelError.callbackFailedOnOtherRank(rank: rank, failedRank: failed, phase: phase, message: messages[failed])
        }
        try Self.checkSame(rates, rank: rank, operation: operation)
        let stopping = outcomes.firstIndex(of: 1)!
        return outcomes.allSatisfy { $0 == 1 } ? messages[stopping] : messages[stopping] + " (rank \(stopping))"
    }

    /// Throws on every rank when the ranks' learning rates (bit patterns) differ.
    private static func checkSame(_ rates: [UInt32], rank: Int, operation: String) throws {
        guard let minimum = rates.min(), let maximum = rates.max(), minimum != maximum else { return }
        throw DistributedError.rankDisagreement(operation: operation, rank: rank, quantity: "learning rate (float32 bits)",
                                                local: Int(rates[rank]), minimum: Int(minimum), maximum: Int(maximum))
    }
}

extension DataParallelTrainer {
    /// One step of `fit`, whose agreement check also compares the ranks' callbacks and carries a
    /// `trainingWillBegin` failure (``CallbackRun``), so that neither costs a collective of its own.
    mutating func agreedStep<Data: RandomAccessDataset>(
        _ data: Data, position: TrainingSnapshot, metrics: [any Metric], run: inout CallbackRun
    ) throws -> DataParallelStepResult where Data.Element == (Tensor<Float>, Tensor<Float>) {
        do {
            let result = try step(data, epoch: position.epoch, step: position.stepInEpoch, metrics: metrics,
                                  agreeing: run.stepQuantities)
            run.stepDidAgree()
            return result
        } catch let DistributedError.rankDisagreement(_, _, quantity, _, _, maximum) where quantity == CallbackRun.beginQuantity {
            throw run.beginFailed(maximum: maximum)
        }
    }
}
