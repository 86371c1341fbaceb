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
}
