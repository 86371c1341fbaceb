import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// `TrainingSnapshot.positionSettings` (what a data-parallel position depends on) travel in
/// native checkpoints as `/position_settings`' string attributes; files without the group
/// (`Trainer.fit`'s, older ones) load with none, and a malformed one is refused naming the attribute.
struct PositionSettingsCheckpointTests {
    static let settings = ["global_batch_size": "256", "rows": "60000", "reduction": "ordered", "micro_shards": "8",
                           "batch_norm_statistics": "synchronized"]

    static func snapshot(settings: [String: String]) throws -> TrainingSnapshot {
        var snapshot = TrainingSnapshot(model: try NativeFixtures.model(), optimizerState: OptimizerState(), iteratorState: nil,
                                        epoch: 1, stepInEpoch: 3, globalStep: 7, history: History())
        snapshot.positionSettings = settings
        return snapshot
    }

    @Test func theSettingsRoundTripAndAreAbsentWhenEmpty() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("settings.h5")
        try NativeCheckpoint.save(try Self.snapshot(settings: Self.settings), optimizer: NativeFixtures.optimizerConfig, to: url)
        #expect(try NativeCheckpoint.load(from: url).snapshot.positionSettings == Self.settings)

        try NativeCheckpoint.save(try Self.snapshot(settings: [:]), optimizer: NativeFixtures.optimizerConfig, to: url)
        let file = try HDF5File.open(at: url, locking: .disabled)
        #expect(try !file.exists("/position_settings"))
        try file.close()
        #expect(try NativeCheckpoint.load(from: url).snapshot.positionSettings.isEmpty)
    }

    @Test func aSettingThatIsNotTextIsRefusedNamingIt() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("number.h5")
        try NativeCheckpoint.save(try Self.snapshot(settings: Self.settings), optimizer: NativeFixtures.optimizerConfig, to: url)
        let file = try HDF5File.open(at: url, mode: .readWrite, locking: .disabled)
        try file.setAttribute("micro_shards_count", Int64(8), on: "/position_settings")
        try file.close()
        #expect(throws: CheckpointError.invalidCheckpoint(file: url.path, object: "/position_settings/micro_shards_count",
                                                          reason: "a position setting must be a string attribute")) {
            try NativeCheckpoint.load(from: url)
        }
    }
}
