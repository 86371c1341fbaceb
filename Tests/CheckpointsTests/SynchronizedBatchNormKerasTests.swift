import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Keras 3's `BatchNormalization(synchronized=True)` (issue 16 item 4) against
/// fixtures/synchronized_bn (make_synchronized_bn.py): it loads, computes like Keras in both
/// modes, and is written back with `synchronized: true` (check_written.py confirms Keras reads
/// it: fixtures/synchronized_bn/batchwise-written-check.log).
@Suite struct SynchronizedBatchNormKerasTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/synchronized_bn")

    static func read(_ path: String) throws -> Tensor<Float> {
        let file = try HDF5File.open(at: directory.appendingPathComponent("sync_bn.io.h5"))
        defer { try? file.close() }
        let array = try file.read(path, as: Float.self)
        return try Tensor(shape: array.shape, scalars: array.values)
    }

    static func expectClose(_ a: Tensor<Float>, _ b: Tensor<Float>, _ what: String) {
        #expect(a.shape == b.shape, "\(what): \(a.shape) vs \(b.shape)")
        let worst = zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-6, "\(what): worst difference \(worst)")
    }

    @Test func aKerasSynchronizedBatchNormalizationLoadsAndComputesLikeKeras() throws {
        let model = try KerasModelFile.load(Self.directory.appendingPathComponent("sync_bn.keras")).model
        let layer = try #require(model.layers[1] as? BatchNormalization)
        #expect(layer.synchronized && layer.momentum == 0.9)
        let x = try Self.read("/inputs")
        Self.expectClose(try model(x, mode: .inference), try Self.read("/outputs_inference"), "inference")
        Self.expectClose(try model(x, mode: .training), try Self.read("/outputs_training"), "training (batch statistics)")
    }

    /// Loaded and saved again, the layer still says `synchronized: true` (the config JSON and a
    /// reload); an ordinary layer still says false. With `BATCHWISE_KERAS_EXPORT` set the saved
    /// file is kept there for check_written.py.
    @Test func theFlagRoundTripsThroughKerasFiles() throws {
        let model = try KerasModelFile.load(Self.directory.appendingPathComponent("sync_bn.keras")).model
        #expect(try KerasModelConfig.json(for: model).contains("\"synchronized\":true"))
        let folder = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let saved = folder.appendingPathComponent("sync_bn.keras")
        try KerasModelFile.save(model, to: saved)
        if let export = ProcessInfo.processInfo.environment["BATCHWISE_KERAS_EXPORT"] {
            try? FileManager.default.removeItem(atPath: "\(export)/batchwise_sync_bn.keras")
            try FileManager.default.copyItem(at: saved, to: URL(fileURLWithPath: "\(export)/batchwise_sync_bn.keras"))
        }
        let back = try KerasModelFile.load(saved).model
        #expect((back.layers[1] as? BatchNormalization)?.synchronized == true)
        #expect(back.variables == model.variables)

        let ordinary = try Sequential(inputFeatures: 4, [Dense(units: 6), BatchNormalization(), Dense(units: 3)], seed: 1)
        #expect(try KerasModelConfig.json(for: ordinary).contains("\"synchronized\":false"))
    }

    /// In one process the flag changes nothing (as in Keras): a training step is bitwise the
    /// same with and without it.
    @Test func inOneProcessSynchronizedTrainsLikeAnOrdinaryLayer() throws {
        func model(synchronized: Bool) throws -> Sequential {
            try Sequential(inputFeatures: 4, [
                Dense(units: 6), BatchNormalization(momentum: 0.9, synchronized: synchronized), Dense(units: 3, activation: .softmax),
            ], seed: 7)
        }
        let x = try Self.read("/inputs")
        let y = Tensor<Float>((0..<x.rowCount).map { Float($0 % 3) })
        let plain = try model(synchronized: false).trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        let synchronized = try model(synchronized: true).trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        #expect(plain.gradients == synchronized.gradients && plain.loss == synchronized.loss)
        #expect(plain.stateUpdate == synchronized.stateUpdate)
    }

    /// The flag in native checkpoints (`/model/<layer>@synchronized`, int8): restored into a
    /// given model whose flags differ and into the model built from the file; the committed
    /// format_version 1 file, written before the flag was stored, loads and keeps the model's
    /// flag; a stored value other than 0 or 1 is refused naming the file and the layer's group.
    @Test func theFlagRoundTripsThroughNativeCheckpoints() throws {
        func model(synchronized: Bool, local: Bool) throws -> Sequential {
            try Sequential(inputFeatures: 3, [Dense(units: 4), BatchNormalization(synchronized: synchronized, name: "sync"),
                                              BatchNormalization(synchronized: local, name: "local")], seed: 2)
        }
        func flags(_ model: Sequential) -> [Bool?] { model.layers.map { ($0 as? BatchNormalization)?.synchronized } }
        let folder = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("flags.checkpoint.h5")
        let snapshot = TrainingSnapshot(model: try model(synchronized: true, local: false), optimizerState: OptimizerState(),
                                        iteratorState: nil, epoch: 0, stepInEpoch: 0, globalStep: 0, history: History())
        try NativeCheckpoint.save(snapshot, optimizer: .sgd(learningRate: 0.1, momentum: 0, nesterov: false), to: url)
        let file = try HDF5File.open(at: url)
        #expect(try file.readAttribute("synchronized", of: "/model/sync", as: Int8.self) == 1)
        #expect(try file.readAttribute("synchronized", of: "/model/local", as: Int8.self) == 0)
        try file.close()
        #expect(flags(try NativeCheckpoint.load(from: url).snapshot.model) == [nil, true, false])
        let into = try NativeCheckpoint.load(from: url, into: try model(synchronized: false, local: true))
        #expect(flags(into.snapshot.model) == [nil, true, false])

        var old = try CompatibilityCheckpointTests.model()
        try old.updateLayer(named: "batch_normalization", as: BatchNormalization.self) { $0.synchronized = true }
        let oldFile = try HDF5File.open(at: CompatibilityCheckpointTests.committed)
        #expect(try !oldFile.hasAttribute("synchronized", of: "/model/batch_normalization"))
        try oldFile.close()
        let fromOld = try NativeCheckpoint.load(from: CompatibilityCheckpointTests.committed, into: old)
        #expect((fromOld.snapshot.model.layers[1] as? BatchNormalization)?.synchronized == true)
        let builtFromOld = try NativeCheckpoint.load(from: CompatibilityCheckpointTests.committed)
        #expect((builtFromOld.snapshot.model.layers[1] as? BatchNormalization)?.synchronized == false)

        let writable = try HDF5File.open(at: url, mode: .readWrite)
        try writable.setAttribute("synchronized", Int8(2), on: "/model/local")
        try writable.close()
        #expect(throws: CheckpointError.invalidCheckpoint(file: url.path, object: "/model/local",
                                                          reason: "attribute 'synchronized' is 2, not 0 or 1")) {
            try NativeCheckpoint.load(from: url)
        }
    }
}
