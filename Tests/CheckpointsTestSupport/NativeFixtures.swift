import Foundation
import Datasets
import HDF5
import Tensors
import Training
import Checkpoints

/// Shared fixtures for the native-checkpoint and workflow tests (CheckpointsTests, WorkflowsTests): a small BN + Dropout model, a shuffled,
/// prefetched pipeline over Gaussian data and helpers to compare runs bit for bit.
package enum NativeFixtures {
    package static func model(seed: UInt64 = 7, hidden: Int = 6) throws -> Sequential {
        try Sequential(inputFeatures: 3, [
            Dense(units: hidden), BatchNormalization(momentum: 0.9), ActivationLayer(.relu),
            Dropout(rate: 0.25), Dense(units: 1, activation: .sigmoid),
        ], seed: seed)
    }

    /// `rows` points in 3-D, labelled by the sign of a fixed linear function (plus noise).
    package static func data(rows: Int, seed: UInt64) throws -> (Tensor<Float>, Tensor<Float>) {
        var rng = SplitMix64(seed: seed)
        var x: [Float] = []
        var y: [Float] = []
        for _ in 0..<rows {
            let p = (0..<3).map { _ in Float(rng.nextNormal()) }
            x += p
            y.append(p[0] - 0.5 * p[1] + 0.3 * p[2] + Float(rng.nextNormal()) * 0.3 > 0 ? 1 : 0)
        }
        return (try Tensor(shape: [rows, 3], scalars: x), try Tensor(shape: [rows, 1], scalars: y))
    }

    /// Slices → shuffle → (repeat) → batch → map → prefetch.
    package static func pipeline(rows: Int = 100, repeating: Bool) throws -> AnyDataset<Trainer.Batch> {
        let (x, y) = try data(rows: rows, seed: 11)
        let shuffled = try Slices(x, y).shuffle(bufferSize: 32, seed: 5)
        if repeating {
            return shuffled.repeat().batch(16).map { ($0.0, $0.1) }.prefetch(2).eraseToAnyDataset()
        }
        return shuffled.batch(16).map { ($0.0, $0.1) }.prefetch(2).eraseToAnyDataset()
    }

    package static func trainer(seed: UInt64 = 7) throws -> Trainer {
        Trainer(model: try model(seed: seed), optimizer: Adam(learningRate: 0.01), loss: .binaryCrossentropy)
    }

    /// The optimizer of ``trainer(seed:)`` as a file's config: snapshots of its runs must be
    /// saved with it (a save under another optimizer's name is refused).
    package static let optimizerConfig = OptimizerConfig.adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)

    /// Every variable's bit patterns by name, so that equality means bitwise equality.
    package static func bits(_ model: Sequential) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: model.variables.map { ($0.name, $0.value.scalars.map(\.bitPattern)) })
    }

    package static func bits(_ state: OptimizerState) -> [String: [UInt32]] {
        state.slots.mapValues { $0.scalars.map(\.bitPattern) }
    }

    /// A fresh folder holding `d.h5` (64 rows of ``data(rows:seed:)``, uint8 labels) and
    /// `m.keras` (``model(seed:hidden:)`` with seed 3), as `batchwise train` reads them.
    package static func trainingFolder(_ label: String = #function) throws -> URL {
        let folder = try self.folder(label)
        let (x, y) = try data(rows: 64, seed: 2)
        try HDF5File.atomicWrite(to: folder.appendingPathComponent("d.h5")) { file in
            try file.write(x.scalars, shape: x.shape, to: "/x")
            try file.write(y.scalars.map { UInt8($0) }, to: "/y")
        }
        try KerasModelFile.save(try model(seed: 3), to: folder.appendingPathComponent("m.keras"))
        return folder
    }

    /// A fresh empty folder under the system temporary directory, removed when the test
    /// process exits (``TestFolders``).
    package static func folder(_ label: String = #function) throws -> URL {
        try TestFolders.make(prefix: "bw-native", label: label)
    }
}

/// Collects snapshots handed to a checkpoint callback.
package final class SnapshotBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [TrainingSnapshot] = []
    package init() {}
    package func append(_ snapshot: TrainingSnapshot) { lock.withLock { stored.append(snapshot) } }
    package var values: [TrainingSnapshot] { lock.withLock { stored } }
}
