import ArgumentParser
import Batchwise
import Foundation

/// `batchwise bench layers [--json]`: forward + backward + Adam update throughput of the seed
/// model (batch 32, steps/s) and of a 784-256-256-10 BN MLP (batch 128, samples/s), next to
/// Keras `train_on_batch` on the same workloads (Benchmarks/peers/layers_peer.py).
struct BenchLayersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "Training-step throughput of Batchwise layers vs Keras train_on_batch."
    )

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Timed seconds per workload (Swift and peer alike).")
    var seconds: Double = 3

    @Option(help: "The Keras peer script; skipped when missing.")
    var peerScript = "Benchmarks/peers/layers_peer.py"

    @Flag(help: "Measure Batchwise only.")
    var noPeer = false

    @Option(help: "Run one workload only (seed_model or mlp); implies --no-peer.")
    var only: String?

    struct Row: Codable {
        var workload: String
        var batchwise: Double
        var peer: Double?
        var unit: String
        var ratio: Double?

        init(workload: String, batchwise: Double, unit: String) {
            self.workload = workload
            self.batchwise = batchwise
            self.unit = unit
        }
    }

    func run() throws {
        guard only == nil || ["seed_model", "mlp"].contains(only!) else {
            throw ValidationError("--only takes seed_model or mlp, got \(only!)")
        }
        let workloads = only.map { [$0] } ?? ["seed_model", "mlp"]
        var rows = try workloads.map { Row(workload: $0, batchwise: try measure($0), unit: unit(of: $0)) }
        if !noPeer, only == nil, let peer = try runPeer() {
            // The machine is shared: measuring Batchwise again after the peer and averaging
            // brackets the peer's time window, so load drift does not favour either side.
            for i in rows.indices {
                rows[i].batchwise = (rows[i].batchwise + (try measure(rows[i].workload))) / 2
                if let value = (peer[rows[i].workload] as? [String: Any])?["value"] as? Double {
                    rows[i].peer = value
                    rows[i].ratio = rows[i].batchwise / value
                }
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
            print("workload     batchwise        peer (Keras)     unit        ratio")
            for row in rows {
                let peer = row.peer.map { String(format: "%14.1f", $0) } ?? "             -"
                let ratio = row.ratio.map { String(format: "%8.1fx", $0) } ?? "        -"
                print(row.workload.padding(toLength: 12, withPad: " ", startingAt: 0)
                      + String(format: " %14.1f  ", row.batchwise) + peer
                      + "   " + row.unit.padding(toLength: 10, withPad: " ", startingAt: 0) + ratio)
            }
        }
    }

    private func unit(of workload: String) -> String { workload == "mlp" ? "samples/s" : "steps/s" }

    /// Steps/s for the seed model, samples/s for the MLP (batch 128).
    private func measure(_ workload: String) throws -> Double {
        if workload == "mlp" { return try LayersWorkload.mlp().stepsPerSecond(seconds: seconds) * 128 }
        return try LayersWorkload.seedModel().stepsPerSecond(seconds: seconds)
    }

    /// Runs the peer with python3; nil (with a note on stderr) when it is missing or fails.
    private func runPeer() throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: peerScript) else {
            FileHandle.standardError.write(Data("peer script \(peerScript) not found; measuring Batchwise only\n".utf8))
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", peerScript, "--seconds", String(seconds)]
        var environment = ProcessInfo.processInfo.environment
        environment["TF_CPP_MIN_LOG_LEVEL"] = "2"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            FileHandle.standardError.write(Data("peer script failed (status \(process.terminationStatus))\n".utf8))
            return nil
        }
        return object
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
    func stepsPerSecond(seconds: Double) throws -> Double {
        var model = self.model
        var optimizer = self.optimizer
        var lastLoss: Float = 0
        for step in 0..<20 {
            let batch = batches[step % batches.count]
            lastLoss = try model.lossAndGradients(x: batch.x, y: batch.y, loss: loss).loss
            try optimizer.apply(to: &model)
        }
        var steps = 0
        let clock = ContinuousClock()
        let start = clock.now
        var elapsed = 0.0
        while elapsed < seconds {
            for _ in 0..<16 {
                let batch = batches[steps % batches.count]
                lastLoss = try model.lossAndGradients(x: batch.x, y: batch.y, loss: loss).loss
                try optimizer.apply(to: &model)
                steps += 1
            }
            let d = clock.now - start
            elapsed = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        guard lastLoss.isFinite else { throw ValidationError("non-finite loss in the benchmark") }
        return Double(steps) / elapsed
    }
}
