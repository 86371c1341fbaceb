import ArgumentParser
import Batchwise
import Foundation

/// `batchwise-bench conv [--json]`: training steps per second (forward + backward + Adam) of
/// two CNNs with BatchNormalization, next to Keras `train_on_batch` on the same workloads
/// (Benchmarks/peers/conv_peer.py), and the convolutions' GFLOP/s against this machine's
/// sgemm rate:
/// - `digits_cnn`: 8x8x1 images, batch 32: Conv 16 3x3 same → BN → ReLU → MaxPool 2 →
///   Conv 32 3x3 same → BN → ReLU → GlobalAveragePool → Dense 10 softmax;
/// - `mnist_cnn`: 28x28x1 synthetic images, batch 128: Conv 32 3x3 → BN → ReLU → MaxPool 2 →
///   Conv 64 3x3 → BN → ReLU → MaxPool 2 → Flatten → Dense 10 softmax.
struct BenchConvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "Training-step throughput of CNNs (Conv2D + BatchNormalization) vs Keras train_on_batch."
    )

    @OptionGroup var comparison: PeerComparisonOptions

    @Option(help: "The Keras peer script; skipped when missing.")
    var peerScript = "Benchmarks/peers/conv_peer.py"

    @Option(help: "Measure only this workload (digits_cnn or mnist_cnn), Batchwise only, without the sgemm rows (for profiling).")
    var only: String?

    func run() throws {
        if let only {
            let (rate, cpu) = try ConvWorkload.make(only).rateAndCPUTime(seconds: comparison.seconds)
            let rows = [BenchRow(workload: only, batchwise: rate, peer: nil, unit: "steps/s"),
                        BenchRow(workload: "\(only)_cpu_per_step", batchwise: cpu * 1000, peer: nil, unit: "CPU ms")]
            print(comparison.json ? try BenchReport.json(rows) : BenchReport.table(rows))
            return
        }
        let workloads = ["digits_cnn", "mnist_cnn"]
        var measured = try workloads.map { ($0, try ConvWorkload.make($0).stepsPerSecond(seconds: comparison.seconds)) }
        var peer: [String: Any]?
        if !comparison.noPeer {
            peer = PeerScript.run(peerScript, arguments: ["--seconds", String(comparison.seconds)])
            // Measuring again after the peer brackets its time window on a shared machine.
            if peer != nil {
                measured = try measured.map { name, first in (name, (first + (try ConvWorkload.make(name).stepsPerSecond(seconds: comparison.seconds))) / 2) }
            }
        }
        var rows = measured.map { name, value in
            BenchRow(workload: name, batchwise: value, peer: PeerScript.value(peer, name), unit: "steps/s")
        }
        // Convolution arithmetic rate of the Batchwise steps, and sgemm's own rate on the
        // largest convolution product of the MNIST model and on a square 1024 product.
        for (name, stepsPerSecond) in measured {
            let flops = try ConvWorkload.make(name).convolutionFlopsPerStep
            rows.append(BenchRow(workload: "\(name)_conv_gflops", batchwise: flops * stepsPerSecond / 1e9, peer: nil, unit: "GFLOP/s"))
        }
        rows.append(BenchRow(workload: "sgemm_mnist_conv2_shape", batchwise: Self.sgemmRate(m: 128 * 11 * 11, n: 64, k: 288, seconds: 1),
                             peer: nil, unit: "GFLOP/s"))
        rows.append(BenchRow(workload: "sgemm_1024", batchwise: Self.sgemmRate(m: 1024, n: 1024, k: 1024, seconds: 1),
                             peer: nil, unit: "GFLOP/s"))
        print(comparison.json ? try BenchReport.json(rows) : BenchReport.table(rows))
    }

    /// GFLOP/s of `C = A·B` for `m×k` times `k×n`, repeated for about `seconds`.
    static func sgemmRate(m: Int, n: Int, k: Int, seconds: Double) -> Double {
        let a = Tensor<Float>(repeating: 0.5, shape: [m, k]), b = Tensor<Float>(repeating: 0.25, shape: [k, n])
        var c = Tensor<Float>(zeros: [m, n])
        var runs = 0
        let clock = ContinuousClock(), start = clock.now
        var elapsed = 0.0
        while elapsed < seconds {
            Tensor.matmul(a, b, transposeA: false, transposeB: false, accumulate: false, into: &c)
            runs += 1
            let d = clock.now - start
            elapsed = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        return Double(runs) * 2 * Double(m * n * k) / elapsed / 1e9
    }
}

/// A CNN workload: the model, its input batches and the convolution FLOPs of one step.
struct ConvWorkload {
    var workload: LayersWorkload
    /// Multiply-adds of the convolutions' forward passes, ×2 for FLOPs, ×3 for forward plus
    /// the input and kernel gradients.
    var convolutionFlopsPerStep: Double

    static func make(_ name: String) throws -> ConvWorkload {
        guard name == "digits_cnn" || name == "mnist_cnn" else {
            throw ValidationError("unknown conv workload \(name); use digits_cnn or mnist_cnn")
        }
        let batch = name == "digits_cnn" ? 32 : 128
        let side = name == "digits_cnn" ? 8 : 28
        let layers: [any Layer] = name == "digits_cnn" ? [
            Conv2D(filters: 16, kernelSize: Size2D(square: 3), padding: .same), BatchNormalization(), ReLU(),
            MaxPooling2D(poolSize: Size2D(square: 2)),
            Conv2D(filters: 32, kernelSize: Size2D(square: 3), padding: .same), BatchNormalization(), ReLU(),
            GlobalAveragePooling2D(), Dense(units: 10, activation: .softmax),
        ] : [
            Conv2D(filters: 32, kernelSize: Size2D(square: 3)), BatchNormalization(), ReLU(),
            MaxPooling2D(poolSize: Size2D(square: 2)),
            Conv2D(filters: 64, kernelSize: Size2D(square: 3)), BatchNormalization(), ReLU(),
            MaxPooling2D(poolSize: Size2D(square: 2)), Flatten(), Dense(units: 10, activation: .softmax),
        ]
        let model = try Sequential(inputShape: [side, side, 1], layers, seed: 0)
        var rng = SplitMix64(seed: 2)
        let batches = try (0..<8).map { _ -> (x: Tensor<Float>, y: Tensor<Float>) in
            let x = (0..<(batch * side * side)).map { _ in Float(rng.nextNormal()) }
            let y = (0..<batch).map { _ in Float(rng.nextIndex(below: 10)) }
            return (try Tensor(shape: [batch, side, side, 1], scalars: x), Tensor(y))
        }
        // Output positions × kernel taps × in × out of each Conv2D, from the built shapes.
        var shape = model.inputShape
        var multiplyAdds = 0
        for layer in model.layers {
            let next = try layer.outputShape(forInput: shape)
            if let conv = layer as? Conv2D {
                multiplyAdds += batch * next[0] * next[1] * conv.kernelSize.height * conv.kernelSize.width * shape[2] * conv.filters
            }
            shape = next
        }
        return ConvWorkload(workload: LayersWorkload(model: model, optimizer: Adam(), batches: batches,
                                                     loss: .sparseCategoricalCrossentropy),
                            convolutionFlopsPerStep: Double(multiplyAdds) * 2 * 3)
    }

    func stepsPerSecond(seconds: Double) throws -> Double { try workload.stepsPerSecond(seconds: seconds) }

    /// Steps per second of wall time and the process's CPU seconds per step (all threads,
    /// OpenBLAS's included): on a shared machine the CPU time moves much less with the load.
    func rateAndCPUTime(seconds: Double) throws -> (stepsPerSecond: Double, cpuSecondsPerStep: Double) {
        var model = workload.model, optimizer = workload.optimizer
        var spare: Gradients?
        func train(_ step: Int) throws {
            let batch = workload.batches[step % workload.batches.count]
            let result = try model.trainingStep(x: batch.x, y: batch.y, loss: workload.loss, reusing: spare.take())
            try model.apply(result.stateUpdate)
            try optimizer.apply(result.gradients, to: &model)
            spare = result.gradients
        }
        for step in 0..<3 { try train(step) }
        func cpuSeconds() -> Double {
            var time = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
        }
        let clock = ContinuousClock(), start = clock.now, cpuStart = cpuSeconds()
        var steps = 0, elapsed = 0.0
        while elapsed < seconds {
            try train(steps)
            steps += 1
            let d = clock.now - start
            elapsed = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        return (Double(steps) / elapsed, (cpuSeconds() - cpuStart) / Double(steps))
    }
}
