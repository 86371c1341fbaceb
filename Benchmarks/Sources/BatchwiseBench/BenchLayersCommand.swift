import ArgumentParser
import Batchwise
import Foundation

/// `batchwise-bench layers [--json]`: forward + backward + Adam update throughput of the seed
/// model (batch 32, steps/s) and of a 784-256-256-10 BN MLP (batch 128, samples/s), next to
/// Keras `train_on_batch` on the same workloads (Benchmarks/peers/layers_peer.py), and the MLP
/// step's matrix products alone through sgemm (``MLPGEMMWorkload``) with the step's share of
/// that rate. The `*_cpu_per_step` rows and `mlp_share_of_sgemm_cpu` divide by process CPU
/// time (all threads, BLAS threads' spinning included) instead of wall time: on a shared
/// machine they move far less with the load than the rates do. `--thread-options` times the MLP
/// under each way of using the cores instead (``MLPThreadOptionsBench``).
struct BenchLayersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "Training-step throughput of Batchwise layers vs Keras train_on_batch."
    )

    @OptionGroup var comparison: PeerComparisonOptions

    @Option(help: "The Keras peer script; skipped when missing.")
    var peerScript = "Benchmarks/peers/layers_peer.py"

    @Option(help: "Run one workload only (seed_model, mlp or mlp_adamw_ema); implies --no-peer.")
    var only: String?

    @Option(help: "Instead of the workloads, time the MLP under each way of using the cores (OpenBLAS's threads, one BLAS thread, products split over threads of our own), this many rounds, each starting one option later; use a multiple of the option count (4) so that every option runs in every position.")
    var threadOptions: Int?

    func run() throws {
        if let rounds = threadOptions {
            let rows = try MLPThreadOptionsBench.rows(seconds: comparison.seconds, rounds: rounds)
            print(comparison.json ? try BenchReport.json(rows) : BenchReport.table(rows))
            return
        }
        guard only == nil || ["seed_model", "mlp", AdamWEMABench.workload].contains(only!) else {
            throw ValidationError("--only takes seed_model, mlp or \(AdamWEMABench.workload), got \(only!)")
        }
        let workloads = (only.map { [$0] } ?? ["seed_model", "mlp"]).filter { $0 != AdamWEMABench.workload }
        var measured = try workloads.map { ($0, try measure($0)) }
        // The MLP step's own GEMMs alone, in the same run: the step's share of this rate is
        // the fraction of the machine's GEMM speed the training step reaches.
        var gemm = workloads.contains("mlp") ? Self.measureGEMM(seconds: comparison.seconds) : nil
        var peer: [String: Any]?
        if !comparison.noPeer, only == nil {
            peer = PeerScript.run(peerScript, arguments: ["--seconds", String(comparison.seconds)])
            // The machine is shared: measuring Batchwise again after the peer and averaging
            // brackets the peer's time window, so load drift does not favour either side.
            if peer != nil {
                measured = try measured.map { workload, first in
                    let second = try measure(workload)
                    return (workload, (rate: (first.rate + second.rate) / 2,
                                       cpuMicrosecondsPerStep: (first.cpuMicrosecondsPerStep + second.cpuMicrosecondsPerStep) / 2))
                }
                gemm = gemm.map { first in
                    let second = Self.measureGEMM(seconds: comparison.seconds)
                    return (rate: (first.rate + second.rate) / 2, perCPUSecond: (first.perCPUSecond + second.perCPUSecond) / 2)
                }
            }
        }
        var rows = measured.map { workload, value in
            BenchRow(workload: workload, batchwise: value.rate, peer: PeerScript.value(peer, workload), unit: unit(of: workload))
        }
        rows += measured.map { workload, value in
            BenchRow(workload: "\(workload)_cpu_per_step", batchwise: value.cpuMicrosecondsPerStep,
                     peer: PeerScript.value(peer, "\(workload)_cpu_per_step"), unit: "µs", lowerIsBetter: true)
        }
        if let gemm, let mlp = measured.first(where: { $0.0 == "mlp" })?.1 {
            let stepRate = mlp.rate * MLPGEMMWorkload.flopPerSample / 1e9
            let stepRatePerCPUSecond = MLPGEMMWorkload.flopPerStep / mlp.cpuMicrosecondsPerStep / 1e3
            rows += [
                BenchRow(workload: "sgemm_mlp_shapes", batchwise: gemm.rate, peer: nil, unit: "GFLOP/s"),
                BenchRow(workload: "mlp_gemm_flops", batchwise: stepRate, peer: nil, unit: "GFLOP/s"),
                BenchRow(workload: "mlp_share_of_sgemm", batchwise: 100 * stepRate / gemm.rate, peer: nil, unit: "%"),
                BenchRow(workload: "sgemm_mlp_shapes_per_cpu_second", batchwise: gemm.perCPUSecond, peer: nil, unit: "GFLOP"),
                BenchRow(workload: "mlp_share_of_sgemm_cpu", batchwise: 100 * stepRatePerCPUSecond / gemm.perCPUSecond,
                         peer: nil, unit: "%"),
            ]
        }
        if only == nil || only == AdamWEMABench.workload {
            rows += try AdamWEMABench.rows(seconds: comparison.seconds, peerScript: comparison.noPeer || only != nil ? nil : "Benchmarks/peers/layers_adamw_peer.py")
        }
        print(comparison.json ? try BenchReport.json(rows) : BenchReport.table(rows))
    }

    private func unit(of workload: String) -> String { workload == "mlp" ? "samples/s" : "steps/s" }

    /// Steps/s for the seed model, samples/s for the MLP (batch 128), and CPU time per step.
    private func measure(_ workload: String) throws -> (rate: Double, cpuMicrosecondsPerStep: Double) {
        if workload == "mlp" {
            let measured = try LayersWorkload.mlp().measureSteps(seconds: comparison.seconds)
            return (measured.rate * 128, measured.cpuMicrosecondsPerStep)
        }
        return try LayersWorkload.seedModel().measureSteps(seconds: comparison.seconds)
    }

    /// The sgemm rate of the MLP's products per wall second and per CPU second (the latter
    /// counts the warm-up and buffer set-up too, a few percent of a timed second).
    static func measureGEMM(seconds: Double) -> (rate: Double, perCPUSecond: Double) {
        let cpuBefore = BenchPipelineCommand.processCPUSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        let rate = MLPGEMMWorkload.gigaflopsPerSecond(seconds: seconds)
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpu = BenchPipelineCommand.processCPUSeconds() - cpuBefore
        return (rate, rate * wall / cpu)
    }
}

/// One benchmark workload: a model, an optimizer and 8 pre-built batches cycled through.
struct LayersWorkload {
    var model: Sequential
    var optimizer: Adam
    var batches: [(x: Tensor<Float>, y: Tensor<Float>)]
    var loss: Loss

    static func seedModel() throws -> LayersWorkload {
        let model = try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 8, activation: .sigmoid),
            BatchNormalization(), Dense(units: 1, activation: .sigmoid),
        ], seed: 0)
        var rng = SplitMix64(seed: 0)
        let batches = try (0..<8).map { _ -> (x: Tensor<Float>, y: Tensor<Float>) in
            let x = (0..<32).map { _ in Float(rng.nextNormal()) }
            return (try Tensor(shape: [32, 1], scalars: x), try Tensor(shape: [32, 1], scalars: x.map { $0 > 0 ? 1 : 0 }))
        }
        return LayersWorkload(model: model, optimizer: Adam(), batches: batches, loss: .binaryCrossentropy)
    }

    static func mlp() throws -> LayersWorkload {
        let model = try Sequential(inputFeatures: 784, [
            Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 10, activation: .softmax),
        ], seed: 0)
        var rng = SplitMix64(seed: 1)
        let batches = try (0..<8).map { _ -> (x: Tensor<Float>, y: Tensor<Float>) in
            let x = (0..<(128 * 784)).map { _ in Float(rng.nextNormal()) }
            let y = (0..<128).map { _ in Float(rng.nextIndex(below: 10)) }
            return (try Tensor(shape: [128, 784], scalars: x), Tensor(y))
        }
        return LayersWorkload(model: model, optimizer: Adam(), batches: batches, loss: .sparseCategoricalCrossentropy)
    }

    /// Warms up for 20 steps, then counts steps for `seconds` of wall time.
    func stepsPerSecond(seconds: Double) throws -> Double { try measureSteps(seconds: seconds).rate }

    /// ``stepsPerSecond(seconds:)`` and the process CPU time (all threads) per step over the
    /// same steps.
    func measureSteps(seconds: Double) throws -> (rate: Double, cpuMicrosecondsPerStep: Double) {
        var model = self.model
        var optimizer = self.optimizer
        var lastLoss: Float = 0
        var spare: Gradients?
        // One step as Trainer.fit takes it, reusing the last step's gradient storage.
        func train(on batch: (x: Tensor<Float>, y: Tensor<Float>)) throws {
            let step = try model.trainingStep(x: batch.x, y: batch.y, loss: loss, reusing: spare.take())
            try model.apply(step.stateUpdate)
            try optimizer.apply(step.gradients, to: &model)
            spare = step.gradients
            lastLoss = step.loss
        }
        for step in 0..<20 { try train(on: batches[step % batches.count]) }
        var steps = 0
        let cpuBefore = BenchPipelineCommand.processCPUSeconds()
        let clock = ContinuousClock()
        let start = clock.now
        var elapsed = 0.0
        while elapsed < seconds {
            for _ in 0..<16 {
                try train(on: batches[steps % batches.count])
                steps += 1
            }
            let d = clock.now - start
            elapsed = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        let cpu = BenchPipelineCommand.processCPUSeconds() - cpuBefore
        guard lastLoss.isFinite else { throw ValidationError("non-finite loss in the benchmark") }
        return (Double(steps) / elapsed, cpu / Double(steps) * 1e6)
    }
}
