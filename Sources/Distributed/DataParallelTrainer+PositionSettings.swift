import Training

extension DataParallelTrainer {
    /// The settings a data-parallel position depends on, as recorded in every snapshot `fit`
    /// hands out (`TrainingSnapshot.positionSettings`, written to native checkpoints under
    /// `/position_settings`). A position is an epoch and a step: step `s` is rows
    /// `s·globalBatchSize ..< (s+1)·globalBatchSize` of the epoch's pass over `rows` rows, so the
    /// batch size and the row count decide which rows it names; the reduction mode, the
    /// micro-shard count and the BatchNormalization scope decide how a step sums them (in
    /// `ordered` mode, the bits). The rank count is not among them: a snapshot resumes on any.
    func positionSettings(rows: Int) -> [String: String] {
        [
            "global_batch_size": String(globalBatchSize),
            "rows": String(rows),
            "reduction": mode.rawValue,
            "micro_shards": String(microShardCount),
            "batch_norm_statistics": batchNormStatistics.rawValue,
        ]
    }

    /// Refuses `snapshot` when it records settings other than this trainer's for `rows` rows
    /// (every difference named), instead of continuing at a position that names other rows or
    /// summing the steps differently from the run that wrote it. A snapshot that records none
    /// (built by hand, written by `Trainer.fit` or before the settings were recorded) passes.
    func checkPositionSettings(of snapshot: TrainingSnapshot, rows: Int) throws {
        let recorded = snapshot.positionSettings
        guard !recorded.isEmpty else { return }
        let current = positionSettings(rows: rows)
        let differences = Self.settingNames.compactMap { key -> String? in
            let (saved, now) = (recorded[key] ?? "none", current[key] ?? "none")
            return saved == now ? nil : "\(Self.describe(key)) \(saved) (this trainer: \(now))"
        }
        let unknown = recorded.keys.filter { current[$0] == nil }.sorted()
        guard differences.isEmpty, unknown.isEmpty else {
            var reason = "was written with other data-parallel settings"
            if !differences.isEmpty { reason += ": " + differences.joined(separator: ", ") }
            if !unknown.isEmpty { reason += "; settings this version does not know: \(unknown.joined(separator: ", "))" }
            reason += "; resume with the recorded settings (a resumed run continues the same rows and sums only with them), "
                + "or start a new run from its model"
            throw DataParallelError.invalidArgument(argument: "resumingFrom", reason: reason)
        }
    }

    /// The recorded settings in the order errors name them.
    private static let settingNames = ["global_batch_size", "rows", "reduction", "micro_shards", "batch_norm_statistics"]

    private static func describe(_ key: String) -> String {
        switch key {
        case "global_batch_size": "global batch size"
        case "rows": "training rows"
        case "reduction": "reduction mode"
        case "micro_shards": "micro-shard count"
        case "batch_norm_statistics": "BatchNormalization statistics"
        default: key
        }
    }
}
