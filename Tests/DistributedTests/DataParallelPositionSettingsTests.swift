import Datasets
import Distributed
import Testing
import Training

/// The settings a data-parallel snapshot records (`TrainingSnapshot.positionSettings`), and the
/// refusal of a resume whose settings differ: the same epoch and step would name other rows, or
/// the steps would sum differently, so continuing would silently give another run than the one
/// that wrote the snapshot. World of one, no MPI.
struct DataParallelPositionSettingsTests {
    typealias Fixture = DataParallelTrainerTests

    /// A mid-epoch snapshot (epoch 1, step 1) of an ordered run with 4 micro-shards and synchronized BatchNormalization.
    static func midEpochSnapshot() throws -> TrainingSnapshot {
        let (x, y) = try Fixture.data()
        var first = try Fixture.trainer(batchNorm: true, microShards: 4)
        var saved: TrainingSnapshot?
        try first.fit(try Slices(x, y).globalShuffle(seed: 2), epochs: 2) { _, snapshot in
            if snapshot.globalStep == 4 { saved = snapshot }
        }
        return try #require(saved)
    }

    @Test func everySnapshotRecordsTheTrainersSettings() throws {
        let snapshot = try Self.midEpochSnapshot()
        #expect(snapshot.positionSettings == [
            "global_batch_size": String(Fixture.batch), "rows": String(Fixture.rows), "reduction": "ordered",
            "micro_shards": "4", "batch_norm_statistics": "synchronized",
        ])
    }

    /// Each setting changed alone is refused, named with both values, and the trainer keeps its
    /// own model and optimizer state.
    @Test(arguments: [
        ("global batch size 16 (this trainer: 8)", 8, 4, ReductionMode.ordered, BatchNormStatisticsScope.synchronized, 0),
        ("training rows 37 (this trainer: 36)", 16, 4, .ordered, .synchronized, 1),
        ("reduction mode ordered (this trainer: fast)", 16, 4, .fast, .synchronized, 0),
        ("micro-shard count 4 (this trainer: 8)", 16, 8, .ordered, .synchronized, 0),
        ("BatchNormalization statistics synchronized (this trainer: ghostBatch)", 16, 4, .ordered, .ghostBatch, 0),
    ])
    func aResumeWithAnotherSettingIsRefusedNamingIt(
        expected: String, batch: Int, microShards: Int, mode: ReductionMode, statistics: BatchNormStatisticsScope, droppedRows: Int
    ) throws {
        let snapshot = try Self.midEpochSnapshot()
        let (x, y) = try Fixture.data()
        let kept = Fixture.rows - droppedRows
        let rows = try Slices(x.rows(0..<kept), y.rows(0..<kept)).globalShuffle(seed: 2)
        var trainer = try DataParallelTrainer(
            model: Fixture.model(batchNorm: true), optimizer: Adam(learningRate: 0.05), loss: .sparseCategoricalCrossentropy,
            communicator: Communicator.world(environment: [:]), globalBatchSize: batch, microShardCount: microShards,
            mode: mode, batchNormStatistics: statistics)
        let (weights, state) = (trainer.model.variables, trainer.optimizer.state)
        let error = #expect(throws: DataParallelError.self) { try trainer.fit(rows, epochs: 2, resumingFrom: snapshot) }
        let description = error?.errorDescription ?? ""
        #expect(description.hasPrefix("data-parallel training: resumingFrom was written with other data-parallel settings: \(expected); "),
                "\(description)")
        #expect(description.components(separatedBy: "(this trainer: ").count == 2, "only the changed setting is named: \(description)")
        #expect(trainer.model.variables == weights && trainer.optimizer.state == state)
    }

    /// Two settings changed: both named. A setting this version does not know: refused, not ignored.
    @Test func everyDifferenceAndUnknownSettingsAreNamed() throws {
        var snapshot = try Self.midEpochSnapshot()
        let (x, y) = try Fixture.data()
        var trainer = try Fixture.trainer(batchNorm: true, microShards: 8, mode: .fast)
        let both = #expect(throws: DataParallelError.self) { try trainer.fit(try Slices(x, y), epochs: 2, resumingFrom: snapshot) }
        #expect(both?.errorDescription?.contains(
            "reduction mode ordered (this trainer: fast), micro-shard count 4 (this trainer: 8); ") == true, "\(String(describing: both))")
        // Typed, for callers that name their own options (the CLI): each difference with both values, in the list's order.
        #expect(both == .positionSettingsDiffer(differences: [
            PositionSettingDifference(setting: .reduction, recorded: "ordered", current: "fast"),
            PositionSettingDifference(setting: .microShards, recorded: "4", current: "8"),
        ], unknown: []))

        snapshot.positionSettings["gradient_accumulation"] = "2"
        var same = try Fixture.trainer(batchNorm: true, microShards: 4)
        let unknown = #expect(throws: DataParallelError.self) { try same.fit(try Slices(x, y), epochs: 2, resumingFrom: snapshot) }
        #expect(unknown?.errorDescription?.contains("settings this version does not know: gradient_accumulation") == true,
                "\(String(describing: unknown))")
        #expect(unknown == .positionSettingsDiffer(differences: [], unknown: ["gradient_accumulation"]))
    }

    /// A snapshot that records no settings (built by hand, or read from a checkpoint written
    /// before they were recorded) resumes as before, bitwise as the uninterrupted run, and the
    /// snapshots of the resumed run record the settings.
    @Test func aSnapshotWithoutSettingsResumesUncheckedAndRecordsThem() throws {
        let (x, y) = try Fixture.data()
        let rows = try Slices(x, y).globalShuffle(seed: 2)
        var uninterrupted = try Fixture.trainer(batchNorm: true, microShards: 4)
        let expected = try uninterrupted.fit(rows, epochs: 2)
        var snapshot = try Self.midEpochSnapshot()
        snapshot.positionSettings = [:]
        var resumed = try Fixture.trainer(batchNorm: true, microShards: 4)
        var recorded: [String: String] = [:]
        let history = try resumed.fit(rows, epochs: 2, resumingFrom: snapshot) { _, later in recorded = later.positionSettings }
        #expect(history == expected)
        #expect(resumed.model.variables == uninterrupted.model.variables)
        #expect(recorded == (try Self.midEpochSnapshot()).positionSettings)
    }
}
