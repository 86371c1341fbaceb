import Foundation
import Datasets
import Testing
import Tensors
import Training

/// The README's quick start, verbatim apart from the checks, so the documentation cannot rot.
@Suite struct ReadmeQuickStartTests {
    @Test func theQuickStartRunsAndTrains() throws {
        let x = try Tensor<Double>(shape: [4, 1], scalars: [-1.5, 0.3, 2.0, -0.2])
        let y = try Tensor<Double>(shape: [4, 1], scalars: [0, 1, 1, 0])
        let train = try Slices(x, y)
            .shuffle(bufferSize: 4, seed: 18).repeat().batch(2)
            .map { (Tensor<Float>(converting: $0.0), Tensor<Float>(converting: $0.1)) }
            .prefetch(2)
        var trainer = Trainer(model: try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 8, activation: .sigmoid),
            BatchNormalization(), Dense(units: 1, activation: .sigmoid)], seed: 18),
            optimizer: Adam(), loss: .binaryCrossentropy)
        let history = try trainer.fit(train, epochs: 3, stepsPerEpoch: 10, progress: .quiet)
        let adapted = try trainer.model.recalibratingBatchNormalization(on: Tensor<Float>(converting: x))
        let p = try adapted(Tensor<Float>(converting: x), mode: .inference)
        #expect(history.epochs == [0, 1, 2])
        #expect(p.shape == [4, 1])
        #expect(p.scalars.allSatisfy { $0 > 0 && $0 < 1 })
        // Training moved the weights, and the predictions are what the README says they are:
        // the trained weights applied in Double by hand, with each BatchNormalization
        // normalizing by the exact mean and biased variance of its input over x (what
        // re-calibration promises). float32 rounding stays far below 1e-5 here.
        let initial = try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 8, activation: .sigmoid),
            BatchNormalization(), Dense(units: 1, activation: .sigmoid)], seed: 18)
        #expect(try trainer.model.variable("dense/kernel") != initial.variable("dense/kernel"))
        let expected = try Self.recalibratedForward(trainer.model, x.scalars)
        for (got, want) in zip(p.scalars, expected) {
            #expect(abs(Double(got) - want) < 1e-5, "predictions \(p.scalars), by hand \(expected)")
        }
    }

    /// `model` on the column `x`, computed in Double from its weights, with every
    /// BatchNormalization using the population statistics of its input over `x`.
    static func recalibratedForward(_ model: Sequential, _ x: [Double]) throws -> [Double] {
        var rows = x.map { [$0] }
        for layer in model.layers {
            switch layer {
            case let bn as BatchNormalization:
                let width = rows[0].count, n = Double(rows.count)
                for j in 0..<width {
                    let mean = rows.reduce(0) { $0 + $1[j] } / n
                    let variance = rows.reduce(0) { $0 + ($1[j] - mean) * ($1[j] - mean) } / n
                    let scale = Double(bn.gamma.scalars[j]) / (variance + bn.epsilon).squareRoot()
                    for r in rows.indices { rows[r][j] = (rows[r][j] - mean) * scale + Double(bn.beta.scalars[j]) }
                }
            case let dense as Dense:
                let inputs = dense.kernel.shape[0], units = dense.kernel.shape[1]
                #expect(dense.activation == .sigmoid)
                rows = rows.map { row in
                    (0..<units).map { u in
                        let z = (0..<inputs).reduce(Double(dense.bias.scalars[u])) {
                            $0 + row[$1] * Double(dense.kernel.scalars[$1 * units + u])
                        }
                        return 1 / (1 + exp(-z))
                    }
                }
            default:
                Issue.record("unexpected layer \(layer.name)")
            }
        }
        return rows.map { $0[0] }
    }
}
