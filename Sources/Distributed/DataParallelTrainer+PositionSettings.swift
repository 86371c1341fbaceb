import Training

/// A setting a data-parallel position depends on, as recorded in every snapshot
/// `DataParallelTrainer.fit` hands out (`TrainingSnapshot.positionSettings`, under its `rawValue`; native checkpoints
/// keep them under `/position_settings`).
///
/// A position is an epoch and a step: step `s` is rows `s·globalBatchSize ..< (s+1)·globalBatchSize`
/// of the epoch's pass over the training rows, so the batch size and the row count decide which
/// rows it names; the reduction mode, the micro-shard count and the BatchNormalization scope
/// decide how a step sums them (in `ordered` mode, the bits). The rank count is not among them:
/// a snapshot resumes on any.
public enum PositionSetting: String, CaseIterable, Sendable {
    /// The global batch size (`global_batch_size`): which rows step `s` names.
    case globalBatchSize = "global_batch_size"
    /// The number of training rows (`rows`): which rows an epoch's pass goes over.
    case rows
    /// The ``ReductionMode`` (`reduction`): how a step sums its micro-shards.
    case reduction
    /// The micro-shard count (`micro_shards`): the order of `ordered` mode's sums.
    case microShards = "micro_shards"
    /// The ``BatchNormStatisticsScope`` (`batch_norm_statistics`): which statistics normalise.
    case batchNormStatistics = "batch_norm_statistics"

    /// How errors name the setting ("global batch size").
    public var description: String {
        switch self {
        case .globalBatchSize: "global batch size"
        case .rows: "training rows"
        case .reduction: "reduction mode"
        case .microShards: "micro-shard count"
        case .batchNormStatistics: "BatchNormalization statistics"
        }
    }
}

/// A setting a snapshot recorded with another value than the resuming trainer's
/// (``DataParallelError/positionSettingsDiffer(differences:unknown:)``). Values are the
/// recorded strings: decimal counts, ``ReductionMode`` and ``BatchNormStatisticsScope`` raw values.
public struct PositionSettingDifference: Equatable, Sendable {
    /// The setting that differs.
    public let setting: PositionSetting
    /// The snapshot's value (`"none"` when it recorded others but not this one).
    public let recorded: String
    /// The resuming trainer's value.
    public let current: String

    /// A difference of `setting`: `recorded` in the snapshot, `current` in the resuming trainer.
    public init(setting: PositionSetting, recorded: String, current: String) {
        self.setting = setting
        self.recorded = recorded
        self.current = current
    }
}

extension DataParallelTrainer {
    /// This trainer's position settings for `rows` training rows, keyed by the setting's `rawValue`.
    func positionSettings(rows: Int) -> [String: String] {
        Dictionary(uniqueKeysWithValues: PositionSetting.allCases.map { ($0.rawValue, positionSetting($0, rows: rows)) })
    }

    private func positionSetting(_ setting: PositionSetting, rows: Int) -> String {
        switch setting {
        case .globalBatchSize: String(globalBatchSize)
        case .rows: String(rows)
        case .reduction: mode.rawValue
        case .microShards: String(microShardCount)
        case .batchNormStatistics: batchNormStatistics.rawValue
        }
    }

    /// Refuses `snapshot` when it records settings other than this trainer's for `rows` rows
    /// (every difference named, and every recorded setting this version does not know), instead
    /// of continuing at a position that names other rows or summing the steps differently from
    /// the run that wrote it. A snapshot that records none (built by hand, written by
    /// `Trainer.fit` or before the settings were recorded) passes.
    func checkPositionSettings(of snapshot: TrainingSnapshot, rows: Int) throws {
        let recorded = snapshot.positionSettings
        guard !recorded.isEmpty else { return }
        let differences = PositionSetting.allCases.compactMap { setting -> PositionSettingDifference? in
            let (saved, current) = (recorded[setting.rawValue] ?? "none", positionSetting(setting, rows: rows))
            return saved == current ? nil : PositionSettingDifference(setting: setting, recorded: saved, current: current)
        }
        let unknown = recorded.keys.filter { PositionSetting(rawValue: $0) == nil }.sorted()
        guard differences.isEmpty, unknown.isEmpty else {
            throw DataParallelError.positionSettingsDiffer(differences: differences, unknown: unknown)
        }
    }
}
