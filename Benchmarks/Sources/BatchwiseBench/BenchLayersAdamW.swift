import ArgumentParser
import Batchwise
import Foundation

/// The `mlp_adamw_ema` rows of `batchwise-bench layers` (issue 17, Performance): the
/// 784-256-256-10 BN MLP (batch 128) trained with AdamW (weight decay 0.004), global-norm
/// clipping (1.0) and an EMA of the weights (momentum 0.99), next to Keras `train_on_batch`
/// with the same optimizer (Benchmarks/peers/layers_adamw_peer.py), and the share of the
/// training step spent in the optimizer update (decay, clipping, rule, EMA).
enum AdamWEMABench {
    static let workload = "mlp_adamw_ema"

    /// Keras's `AdamW(weight_decay=0.004, global_clipnorm=1.0, use_ema=True, ema_momentum=0.99)`.
    static func optimizer() -> AdamW {
        var options = OptimizerOptions(learningRate: 0.001)
        options.weightDecay = 0.004
        options.globalClipnorm = 1
        options.useEMA = true
        options.emaMomentum = 0.99
        return AdamW(options: options)
    }

    /// Samples/s and the optimizer's share of the step, measured before and after the peer
    /// (when it runs) and averaged, so that load drift favours neither side.
    static func rows(seconds: Double, peerScript: String?) throws -> [BenchRow] {
        var measured = try measure(seconds: seconds)
        var peer: Double?
        if let peerScript, let result = PeerScript.run(peerScript, arguments: ["--seconds", String(seconds)]) {
            peer = PeerScript.value(result, workload)
            let again = try measure(seconds: seconds)
            measured = ((measured.samplesPerSecond + again.samplesPerSecond) / 2, (measured.optimizerShare + again.optimizerShare) / 2)
        }
        return [
            BenchRow(workload: workload, batchwise: measured.samplesPerSecond, peer: peer, unit: "samples/s"),
            BenchRow(workload: workload + "_optimizer_share", batchwise: 100 * measured.optimizerShare, peer: nil, unit: "% of step"),
        ]
    }

    /// Training steps on the BN MLP's 8 cycled batches for `seconds` after 20 warm-up steps:
    /// samples per second, and the fraction of the step time inside `optimizer.apply`.
    static func measure(seconds: Double) throws -> (samplesPerSecond: Double, optimizerShare: Double) {
        let mlp = try LayersWorkload.mlp()
        var model = mlp.model
        var optimizer = optimizer()
        var spare: Gradients?
        var lastLoss: Float = 0
        let clock = ContinuousClock()
        var inOptimizer = Duration.zero
        func train(_ batch: (x: Tensor<Float>, y: Tensor<Float>)) throws {
            let step = try model.trainingStep(x: batch.x, y: batch.y, loss: mlp.loss, reusing: spare.take())
            try model.apply(step.stateUpdate)
            let before = clock.now
            try optimizer.apply(step.gradients, to: &model)
            inOptimizer += clock.now - before
            spare = step.gradients
            lastLoss = step.loss
        }
        for step in 0..<20 { try train(mlp.batches[step % mlp.batches.count]) }
        inOptimizer = .zero
        var steps = 0
        let start = clock.now
        var elapsed = Duration.zero
        while elapsed < .seconds(seconds) {
            for _ in 0..<16 {
                try train(mlp.batches[steps % mlp.batches.count])
                steps += 1
            }
            elapsed = clock.now - start
        }
        guard lastLoss.isFinite else { throw ValidationError("non-finite loss in the AdamW benchmark") }
        func inSeconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        }
        return (Double(steps * 128) / inSeconds(elapsed), inSeconds(inOptimizer) / inSeconds(elapsed))
    }
}
