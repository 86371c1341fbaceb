import Foundation
import Datasets
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints

/// A native checkpoint written by Batchwise 0.1.0 (format_version 1, main of 2026-12-06) and
/// committed as `fixtures/compat/v1/mid-epoch.checkpoint.h5`: every later version must load it
/// and continue the run exactly, or refuse it with an error naming the version.
///
/// The run is defined here, not in shared test helpers, so that the file's meaning cannot drift:
/// BN + Dropout + Adam over the pipeline Slices → shuffle(24) → repeat → batch(8) → map →
/// prefetch(2), 4 epochs of 5 steps, saved at global step 7 (epoch 1, step 2: mid-epoch and
/// mid-pass, with a half-used shuffle buffer and a Dropout generator in flight). The prefetch
/// snapshots its input every 3 batches, so the stored state holds a shuffle buffer, not only a
/// count of batches to replay.
///
/// `BATCHWISE_REGENERATE_COMPAT=1 swift test --filter CompatibilityCheckpointTests` rewrites the
/// file instead; do that only for a deliberate, CHANGELOG-documented format change.
@Suite("A native checkpoint from an older Batchwise loads and resumes exactly; a newer format_version is refused")
struct CompatibilityCheckpointTests {
    static let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/compat/v1/mid-epoch.checkpoint.h5")
    /// The committed file, rewritten first (once per process, before any test reads it) in
    /// regenerate mode.
    static let prepared: Result<URL, RegenerationFailed> = {
        do {
            if ProcessInfo.processInfo.environment["BATCHWISE_REGENERATE_COMPAT"] == "1" { try regenerate(to: committed) }
            return .success(committed)
        } catch {
            return .failure(RegenerationFailed(reason: String(describing: error)))
        }
    }()

    /// Why the fixture could not be rewritten (a `Sendable` error, so the result can be a static).
    struct RegenerationFailed: Error, Sendable { let reason: String }
    static var fixture: URL { get throws { try prepared.get() } }
    static let savedStep = 7
    static let epochs = 4
    static let stepsPerEpoch = 5
    static let optimizer = OptimizerConfig.adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)

    static func model(seed: UInt64 = 21) throws -> Sequential {
        try Sequential(inputFeatures: 2, [
            Dense(units: 4), BatchNormalization(momentum: 0.8), ActivationLayer(.tanh),
            Dropout(rate: 0.2), Dense(units: 1, activation: .sigmoid),
        ], seed: seed, name: "compat_v1")
    }

    static func pipeline() throws -> AnyDataset<Trainer.Batch> {
        var rng = SplitMix64(seed: 2026)
        let x = (0..<80).map { _ in Float(rng.nextNormal()) }
        let y = stride(from: 0, to: 80, by: 2).map { x[$0] - 0.5 * x[$0 + 1] > 0 ? Float(1) : 0 }
        return try Slices(try Tensor(shape: [40, 2], scalars: x), try Tensor(shape: [40, 1], scalars: y))
            .shuffle(bufferSize: 24, seed: 9).repeat().batch(8).map { ($0.0, $0.1) }.prefetch(2, stateInterval: 3)
            .eraseToAnyDataset()
    }

    static func trainer(_ model: Sequential, _ optimizer: any Optimizer = Adam(learningRate: 0.01)) -> Trainer {
        Trainer(model: model, optimizer: optimizer, loss: .binaryCrossentropy)
    }

    /// Writes the fixture (regenerate mode): the run above, saved once at `savedStep`.
    static func regenerate(to fixture: URL) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bw-compat-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = try CheckpointDirectory(url: folder, keepLast: 10, optimizer: optimizer, loss: .binaryCrossentropy)
        var saving = trainer(try model())
        try saving.fit(try pipeline(), epochs: epochs, stepsPerEpoch: stepsPerEpoch,
                       callbacks: [directory.callback(frequency: .everySteps(savedStep))], progress: .quiet)
        let loaded = try NativeCheckpoint.load(from: directory.fileURL(globalStep: savedStep))
        // A fixed date, so that regenerating without a format change gives the same content.
        try FileManager.default.createDirectory(at: fixture.deletingLastPathComponent(), withIntermediateDirectories: true)
        try NativeCheckpoint.save(loaded.snapshot, optimizer: optimizer, to: fixture, loss: .binaryCrossentropy,
                                  created: Date(timeIntervalSince1970: 1_796_515_200))
    }

    @Test("the committed file loads (model from its config, strict), with its metadata")
    func loadsWithItsMetadata() throws {
        let loaded = try NativeCheckpoint.load(from: try Self.fixture)
        #expect(loaded.batchwiseVersion == "0.1.0")
        #expect(loaded.created == "2026-12-06T00:00:00Z")
        #expect(loaded.loss == .binaryCrossentropy)
        #expect(loaded.optimizer == Self.optimizer)
        #expect(loaded.snapshot.globalStep == Self.savedStep)
        #expect(loaded.snapshot.epoch == 1 && loaded.snapshot.stepInEpoch == 2)
        #expect(loaded.snapshot.optimizerState.iterations == Int64(Self.savedStep))
        #expect(loaded.snapshot.iteratorState?.kind == "prefetch")
        let expected = try Self.model()
        #expect(loaded.snapshot.model.name == "compat_v1")
        #expect(loaded.snapshot.model.layers.map(\.name) == expected.layers.map(\.name))
        #expect(loaded.snapshot.model.layers.map(\.typeName) == expected.layers.map(\.typeName))
        #expect(Set(loaded.snapshot.model.randomStates.keys) == Set(expected.randomStates.keys))
        // Strict load into the model this test builds: nothing missing or unexpected.
        let strict = try NativeCheckpoint.load(from: try Self.fixture, into: try Self.model(seed: 99))
        #expect(strict.skipped.isEmpty)
    }

    @Test("resuming from the committed file gives the uninterrupted run bit for bit")
    func resumesExactly() throws {
        var straight = Self.trainer(try Self.model())
        let straightHistory = try straight.fit(try Self.pipeline(), epochs: Self.epochs, stepsPerEpoch: Self.stepsPerEpoch,
                                               progress: .quiet)

        let loaded = try NativeCheckpoint.load(from: try Self.fixture, into: try Self.model(seed: 1234))
        var resumed = Self.trainer(loaded.snapshot.model, loaded.makeOptimizer())
        let history = try resumed.fit(try Self.pipeline(), epochs: Self.epochs, stepsPerEpoch: Self.stepsPerEpoch,
                                      progress: .quiet, resumingFrom: loaded.snapshot)
        func bits(_ model: Sequential) -> [String: [UInt32]] {
            Dictionary(uniqueKeysWithValues: model.variables.map { ($0.name, $0.value.scalars.map(\.bitPattern)) })
        }
        #expect(bits(resumed.model) == bits(straight.model))   // weights and moving statistics
        #expect(resumed.model.randomStates == straight.model.randomStates)
        #expect(resumed.optimizer.state.iterations == Int64(Self.epochs * Self.stepsPerEpoch))
        #expect(resumed.optimizer.state.slots.mapValues { $0.scalars.map(\.bitPattern) }
                == straight.optimizer.state.slots.mapValues { $0.scalars.map(\.bitPattern) })
        #expect(history == straightHistory)
    }

    @Test("a file whose format_version is newer than this reader's is refused, naming both versions and the file")
    func newerFormatVersionIsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bw-compat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let newer = folder.appendingPathComponent("from-the-future.h5")
        try FileManager.default.copyItem(at: try Self.fixture, to: newer)
        let future = NativeCheckpoint.formatVersion + 1
        do {
            let file = try HDF5File.open(at: newer, mode: .readWrite)
            try file.setAttribute("format_version", future)
            try file.close()
        }
        for model in [nil, try Self.model()] as [Sequential?] {
            do {
                _ = try NativeCheckpoint.load(from: newer, into: model)
                Issue.record("a format_version \(future) file was loaded")
            } catch let CheckpointError.unsupported(file, what) {
                #expect(file == newer.path)
                #expect(what.contains("format_version \(future)") && what.contains("newer than \(NativeCheckpoint.formatVersion)"),
                        "message: \(what)")
            }
        }
        // The same file with its version (1) put back loads: the refusal is about the version alone.
        do {
            let file = try HDF5File.open(at: newer, mode: .readWrite)
            try file.setAttribute("format_version", Int64(1))
            try file.close()
        }
        #expect(try NativeCheckpoint.load(from: newer).snapshot.globalStep == Self.savedStep)
    }
}
