import Testing
import Tensors
@testable import Training

/// A training step writes into storage it finds unshared from the previous step (the spare
/// gradients' buffers, the logits the loss overwrites, the batch variance that becomes the
/// inverse std, the optimizer's slots in place). These check, bit for bit, that doing so
/// gives exactly the steps of fresh storage, and never changes a value the caller still holds.
@Suite struct StepBufferReuseTests {
    /// The scalars' bit patterns: `==` on floats would let -0 pass for 0 and fail on NaN.
    static func bits(_ tensor: Tensor<Float>) -> [UInt32] { tensor.scalars.map(\.bitPattern) }

    static func bits(_ gradients: Gradients) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: gradients.named.map { ($0.name, bits($0.value)) })
    }

    static func bits(_ model: Sequential) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: model.variables.map { ($0.name, bits($0.value)) })
    }

    /// The seed model, a ReLU/softmax model with a frozen-statistics BatchNormalization, and a
    /// model whose loss is not fused with its output (mean squared error on a linear output).
    static func workloads() throws -> [(name: String, model: Sequential, loss: Loss, features: Int)] {
        [
            ("seed model", try Sequential(inputFeatures: 1, [
                BatchNormalization(), Dense(units: 8, activation: .sigmoid),
                BatchNormalization(), Dense(units: 1, activation: .sigmoid),
            ], seed: 0), .binaryCrossentropy, 1),
            ("relu softmax", try Sequential(inputFeatures: 6, [
                Dense(units: 16, activation: .relu), BatchNormalization(momentum: 0.9),
                Dense(units: 8), BatchNormalization(statistics: .moving), ActivationLayer(.relu),
                Dense(units: 3, activation: .softmax),
            ], seed: 4), .sparseCategoricalCrossentropy, 6),
            ("mse", try Sequential(inputFeatures: 3, [
                BatchNormalization(center: false), Dense(units: 5, activation: .tanh), Dense(units: 2),
            ], seed: 9), .meanSquaredError, 3),
        ]
    }

    static func batches(features: Int, loss: Loss) -> [(x: Tensor<Float>, y: Tensor<Float>)] {
        (0..<4).map { index in
            let x = Tensor<Float>(converting: randomTensor([32, features], seed: 100 + UInt64(index)))
            let y: Tensor<Float>
            switch loss.kind {
            case .sparseCategoricalCrossentropy: y = Tensor((0..<32).map { Float(($0 + index) % 3) })
            case .meanSquaredError: y = Tensor<Float>(converting: randomTensor([32, 2], seed: 200 + UInt64(index)))
            default: y = x.map { $0 > 0 ? 1 : 0 }   // the seed model: one feature, its sign
            }
            return (x, y)
        }
    }

    @Test(arguments: [false, true])
    func reusedStorageGivesBitwiseTheStepsOfFreshStorage(emaAndDecay: Bool) throws {
        for workload in try Self.workloads() {
            var reused = workload.model, fresh = reused
            var options = OptimizerOptions(learningRate: 0.01)
            if emaAndDecay { options.useEMA = true }
            var reusedOptimizer: any Optimizer = emaAndDecay ? AdamW(options: options) : Adam(options: options)
            var freshOptimizer: any Optimizer = emaAndDecay ? AdamW(options: options) : Adam(options: options)
            var spare: Gradients?
            let batches = Self.batches(features: workload.features, loss: workload.loss)
            for step in 0..<8 {
                let (x, y) = batches[step % batches.count]
                let a = try reused.trainingStep(x: x, y: y, loss: workload.loss, reusing: spare.take())
                let b = try fresh.trainingStep(x: x, y: y, loss: workload.loss)
                #expect(a.loss.bitPattern == b.loss.bitPattern, "\(workload.name) step \(step)")
                #expect(Self.bits(a.predictions) == Self.bits(b.predictions), "\(workload.name) step \(step)")
                #expect(Self.bits(a.gradients) == Self.bits(b.gradients), "\(workload.name) step \(step)")
                #expect(a.stateUpdate == b.stateUpdate, "\(workload.name) step \(step)")
                try reused.apply(a.stateUpdate)
                try reusedOptimizer.apply(a.gradients, to: &reused)
                try fresh.apply(b.stateUpdate)
                try freshOptimizer.apply(b.gradients, to: &fresh)
                spare = a.gradients
            }
            #expect(Self.bits(reused) == Self.bits(fresh), "\(workload.name)")
            #expect(reusedOptimizer.state == freshOptimizer.state, "\(workload.name)")
        }
    }

    /// In the steady state of the seed model's loop (spare gradients handed back, nothing else
    /// kept), each Dense's kernel and bias gradients are written into last step's storage:
    /// a copy-on-write copy of either (a second reference left somewhere in the step) would
    /// show as storage at another address while the old one was still alive.
    @Test func denseGradientsAreWrittenIntoLastStepsStorage() throws {
        let workload = try Self.workloads()[0]
        var model = workload.model
        var adam = Adam()
        var spare: Gradients?
        var lastAddresses: [String: Int] = [:]
        let batches = Self.batches(features: workload.features, loss: workload.loss)
        for step in 0..<6 {
            let (x, y) = batches[step % batches.count]
            let result = try model.trainingStep(x: x, y: y, loss: workload.loss, reusing: spare.take())
            var addresses: [String: Int] = [:]
            for gradient in result.gradients.named where gradient.name.hasPrefix("dense") {
                addresses[gradient.name] = SlotPlacement.address(of: gradient.value)
            }
            #expect(addresses.count == 4)
            if step > 0 { #expect(addresses == lastAddresses, "step \(step)") }
            lastAddresses = addresses
            try model.apply(result.stateUpdate)
            try adam.apply(result.gradients, to: &model)
            spare = result.gradients
        }
    }

    /// A caller that keeps every step's gradients and predictions while passing the spare on:
    /// the storage is shared, so the next step must not write into it.
    @Test func valuesTheCallerStillHoldsAreNeverOverwritten() throws {
        for workload in try Self.workloads() {
            var model = workload.model
            var adam = Adam()
            var spare: Gradients?
            var held: [(gradients: Gradients, predictions: Tensor<Float>, bits: [String: [UInt32]], predictionBits: [UInt32])] = []
            let batches = Self.batches(features: workload.features, loss: workload.loss)
            for step in 0..<6 {
                let (x, y) = batches[step % batches.count]
                let result = try model.trainingStep(x: x, y: y, loss: workload.loss, reusing: spare.take())
                held.append((result.gradients, result.predictions, Self.bits(result.gradients), Self.bits(result.predictions)))
                try model.apply(result.stateUpdate)
                try adam.apply(result.gradients, to: &model)
                spare = result.gradients
            }
            for (step, kept) in held.enumerated() {
                #expect(Self.bits(kept.gradients) == kept.bits, "\(workload.name) step \(step)")
                #expect(Self.bits(kept.predictions) == kept.predictionBits, "\(workload.name) step \(step)")
            }
        }
    }

    /// BatchNormalization's gradient sums written into last step's arrays: whatever those
    /// held, and whatever their size, the sums are the fresh ones (a narrow width, whose
    /// kernels store the sums, and a wide one, whose row loop adds into the arrays).
    @Test(arguments: [5, 20])
    func batchNormSumsIntoReusedArraysEqualFreshSums(columns: Int) {
        let x = Tensor<Float>(converting: randomTensor([32, columns], seed: 1))
        let g = Tensor<Float>(converting: randomTensor([32, columns], seed: 2))
        let moments = BatchNormMath.moments(x)
        let inverseStd = BatchNormMath.inverseStd(moments.variance, epsilon: 0.001)
        let gamma = (0..<columns).map { Float($0) * 0.5 - 1 }
        for batchStatistics in [true, false] {
            let fresh = BatchNormMath.backward(x: x, upstream: g, mean: moments.mean, inverseStd: inverseStd, gamma: gamma,
                                               batchStatistics: batchStatistics, wantsInput: true)
            for spare in [[Float](repeating: 7, count: columns), [Float](repeating: .nan, count: columns), [1, 2], []] {
                let reused = BatchNormMath.backward(x: x, upstream: g, mean: moments.mean, inverseStd: inverseStd,
                                                    gamma: gamma, batchStatistics: batchStatistics, wantsInput: true,
                                                    reusingGamma: spare, reusingBeta: spare)
                #expect(reused.gamma.map(\.bitPattern) == fresh.gamma.map(\.bitPattern))
                #expect(reused.beta.map(\.bitPattern) == fresh.beta.map(\.bitPattern))
                #expect(reused.input.map(Self.bits) == fresh.input.map(Self.bits))
            }
        }
    }
}
