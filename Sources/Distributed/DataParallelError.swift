import Foundation

/// Why a ``DataParallelTrainer`` refused a model or data, or stopped. A failure on one rank is
/// carried through the step's collective, so every rank throws instead of waiting: the rank at
/// fault throws ``rankFailed(rank:epoch:step:message:)`` with its own error, the others
/// ``otherRankFailed(rank:epoch:step:underlying:)``.
public enum DataParallelError: Error, LocalizedError, Equatable, Sendable {
    /// A setting is out of range (a global batch size below 1, fewer than one micro-shard).
    case invalidArgument(argument: String, reason: String)
    /// The model has a layer the trainer cannot train rank-count independently: one with a
    /// random generator other than Dropout (its draws would repeat in every micro-shard).
    case unsupportedLayer(layer: String, reason: String)
    /// The dataset is not a random-access dataset of single `(features, targets)` rows in the
    /// global order (it is sharded, batched or infinite).
    case unsupportedData(reason: String)
    /// This rank could not read its rows or compute its micro-shards' gradients in step `step`
    /// of epoch `epoch`; `message` is the underlying error's description.
    case rankFailed(rank: Int, epoch: Int, step: Int, message: String)
    /// Another rank failed in step `step` of epoch `epoch` (it throws ``rankFailed(rank:epoch:step:message:)``);
    /// this rank learnt of it through the step's reduction. `rank` is this rank.
    case otherRankFailed(rank: Int, epoch: Int, step: Int, underlying: DistributedError)
    /// A callback of `fit` threw on rank `failedRank` (the lowest, if several did) in `phase`
    /// (e.g. `"stepDidEnd after epoch 1, step 3"`); `rank` is this rank, whose callbacks did not
    /// throw, and `message` the failed rank's error. The rank whose callback threw throws that
    /// error itself, as `Trainer.fit` does; every rank stops at the same point.
    case callbackFailedOnOtherRank(rank: Int, failedRank: Int, phase: String, message: String)
    /// `fit(resumingFrom:)` was given a snapshot recorded with other data-parallel settings
    /// (``PositionSetting``): resumed, its position would name other rows or its steps would sum
    /// differently. `differences` lists each setting whose value differs, `unknown` the recorded
    /// settings this version does not know (refused, not ignored). Every rank throws it alike.
    case positionSettingsDiffer(differences: [PositionSettingDifference], unknown: [String])

    /// One line naming the rank, step, layer or setting at fault.
    public var errorDescription: String? {
        switch self {
        case let .invalidArgument(argument, reason):
            return "data-parallel training: \(argument) \(reason)"
        case let .unsupportedLayer(layer, reason):
            return "data-parallel training cannot train layer '\(layer)': \(reason)"
        case let .unsupportedData(reason):
            return "data-parallel training needs the unsharded, unbatched random-access rows: \(reason)"
        case let .rankFailed(rank, epoch, step, message):
            return "rank \(rank) failed in epoch \(epoch), step \(step): \(message)"
        case let .otherRankFailed(rank, epoch, step, underlying):
            return "rank \(rank) stopped in epoch \(epoch), step \(step) because another rank failed "
                + "(\(underlying.errorDescription ?? "\(underlying)"))"
        case let .callbackFailedOnOtherRank(rank, failedRank, phase, message):
            return "rank \(rank) stopped because a callback failed on rank \(failedRank) in \(phase): \(message)"
        case let .positionSettingsDiffer(differences, unknown):
            var reason = "was written with other data-parallel settings"
            if !differences.isEmpty {
                reason += ": " + differences.map { "\($0.setting.description) \($0.recorded) (this trainer: \($0.current))" }
                    .joined(separator: ", ")
            }
            if !unknown.isEmpty { reason += "; settings this version does not know: \(unknown.joined(separator: ", "))" }
            return "data-parallel training: resumingFrom \(reason); resume with the recorded settings (a resumed run continues "
                + "the same rows and sums only with them), or start a new run from its model"
        }
    }
}
