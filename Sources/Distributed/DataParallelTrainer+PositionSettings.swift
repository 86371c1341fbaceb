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
        Dictionary(uniqueKeysWithValues: positionSettingList(rows: rows).map { ($0.key, $0.value) })
    }

    /// The settings as (key, description, value), in the order errors name them: the one list
    /// both the recorded dictionary and the refusal's wording come from.
    private func positionSettingList(rows: Int) -> [(key: String, description: String, value: String)] {
        [
            ("global_batch_size", "global batch size", String(globalBatchSize)),
            ("rows", "training rows", String(rows)),
            ("reduction", "reduction mode", mode.rawValue),
            ("micro_shards", "micro-shard count", String(microShardCount)),
            ("batch_norm_statistics", "BatchNormalization statistics", batchNormStatistics.rawValue),
        ]
    }

    /// Refuses `snapshot` when it records settings other than this trainer's for `rows` rows
    /// (every difference named), instead of continuing at a position that names other rows or
    /// summing the steps differently from the run that wrote it. A snapshot that records none
    /// (built by hand, written by `Trainer.fit` or before the settings were recorded) passes.
    func checkPositionSettings(of snapshot: TrainingSnapshot, rows: Int) throws {
        let recorded = snapshot.positionSettings
        guard !recorded.isEmpty else { return }
        let current = positionSettingList(rows: rows)
        let differences = current.compactMap { setting -> String? in
            let saved = recorded[setting.key] ?? "none"
            return saved == setting.value ? nil : "\(setting.description) \(saved) (this trainer: \(setting.value))"
        }
        let known = Set(current.map(\.key))
        let unknown = recorded.keys.filter { !known.contains($0) }.sorted()
        guard differences.isEmpty, unknown.isEmpty else {
            var reason = "was written with other data-parallel settings"
            if !differences.isEmpty { reason += ": " + differences.joined(separator: ", ") }
            if !unknown.isEmpty { reason += "; settings this version does not know: \(unknown.joined(separator: ", "))" }
            reason += "; resume with the recorded settings (a resumed run continues the same rows and sums only with them), "
                + "or start a new run from its model"
            throw DataParallelError.invalidArgument(argument: "resumingFrom", reason: reason)
        }
    }
}
