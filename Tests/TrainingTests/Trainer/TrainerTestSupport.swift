import Datasets
import Foundation
import Tensors
@testable import Training

/// A thread-safe log that `@Sendable` dataset closures can append to.
final class Recorder<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Value] = []
    func append(_ value: Value) { lock.lock(); storage.append(value); lock.unlock() }
    var values: [Value] { lock.lock(); defer { lock.unlock() }; return storage }
}

enum TrainerFixtures {
    /// Rows x ~ N(0, 1) with label x > 0, as Float tensors of shape [n, 1].
    static func gaussian(rows: Int, seed: UInt64, shift: Float = 0) -> (Tensor<Float>, Tensor<Float>) {
        var rng = SplitMix64(seed: seed)
        var x = [Float](), y = [Float]()
        for _ in 0..<rows {
            let value = shift + Float(rng.nextNormal())
            x.append(value)
            y.append(value > shift ? 1 : 0)
        }
        return (try! Tensor(shape: [rows, 1], scalars: x), try! Tensor(shape: [rows, 1], scalars: y))
    }

    static func seedModel(seed: UInt64 = 18, dropout: Bool = false) throws -> Sequential {
        var layers: [any Layer] = [BatchNormalization(), Dense(units: 8, activation: .sigmoid)]
        if dropout { layers.append(Dropout(rate: 0.25)) }
        layers += [BatchNormalization(), Dense(units: 1, activation: .sigmoid)]
        return try Sequential(inputFeatures: 1, layers, seed: seed)
    }

    /// The seed pipeline in small: shuffle -> repeat -> batch -> prefetch.
    static func pipeline(_ data: (Tensor<Float>, Tensor<Float>), seed: UInt64, batch: Int = 16)
        throws -> AnyDataset<Trainer.Batch> {
        try Slices(data.0, data.1).shuffle(bufferSize: data.0.rowCount, seed: seed)
            .repeat().batch(batch).prefetch(2).eraseToAnyDataset()
    }

    /// Every bit of a model's variables, for exact comparisons.
    static func bits(_ model: Sequential) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: model.variables.map { ($0.name, $0.value.scalars.map(\.bitPattern)) })
    }
}
