import ArgumentParser
import Batchwise
import Foundation

/// `batchwise-bench checkpoint`: save and load wall time of a native checkpoint of the
/// 784-256-256-10 BN MLP with Adam state, beside Keras `model.save` / `load_model` of the
/// same model as `.keras` (Benchmarks/peers/checkpoint_peer.py), in the same invocation.
///
/// Both sides: one warm-up, then the median of `--repetitions`; load rebuilds the model from
/// the stored architecture and restores the optimizer state.
struct BenchCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint", abstract: "Native checkpoint save/load vs Keras model.save/load_model.")

    @Flag(help: "Print JSON rows instead of a table.") var json = false
    @Option(help: "Timed repetitions; the median is reported.") var repetitions = 7
    @Flag(help: "Measure Batchwise only.") var noPeer = false
    @Flag(help: "Also print (stderr) the time spent producing the architecture JSON.") var breakdown = false
    @Option(help: "Folder for the Batchwise files (default: the temporary directory, as the peer).") var folder: String?

    func run() throws {
        let snapshot = try Self.snapshot()
        let config = OptimizerConfig.adam(learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
        let folder = (folder.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory)
            .appendingPathComponent("batchwise-bench-checkpoint-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("x.h5")

        try NativeCheckpoint.save(snapshot, optimizer: config, to: url, loss: .sparseCategoricalCrossentropy)
        let check = try NativeCheckpoint.load(from: url)
        guard check.snapshot.model.variables == snapshot.model.variables,
              check.snapshot.optimizerState == snapshot.optimizerState else {
            throw ValidationError("the reloaded checkpoint differs from the saved snapshot")
        }
        var saves: [Double] = []
        var loads: [Double] = []
        var unsyncedSaves: [Double] = []
        for _ in 0..<max(1, repetitions) {
            saves.append(try Self.seconds {
                try NativeCheckpoint.save(snapshot, optimizer: config, to: url, loss: .sparseCategoricalCrossentropy)
            })
            // Keras's model.save does not fsync; this row compares like with like.
            unsyncedSaves.append(try Self.seconds {
                try NativeCheckpoint.save(snapshot, optimizer: config, to: url, loss: .sparseCategoricalCrossentropy,
                                          durability: .processCrashSafe)
            })
            loads.append(try Self.seconds { _ = try NativeCheckpoint.load(from: url) })
        }
        if breakdown {
            let json = Self.median(try (0..<repetitions).map { _ in try Self.seconds { _ = try KerasModelConfig.json(for: snapshot.model) } })
            FileHandle.standardError.write(Data("architecture JSON: \(json) s\n".utf8))
        }
        let peer = noPeer ? nil : PeerScript.run("Benchmarks/peers/checkpoint_peer.py",
                                                 arguments: ["--repetitions", "\(repetitions)"])
        let rows = [
            BenchRow(workload: "mlp_checkpoint_save", batchwise: Self.median(saves), peer: PeerScript.value(peer, "save"),
                     unit: "s", lowerIsBetter: true),
            BenchRow(workload: "mlp_checkpoint_save_no_fsync", batchwise: Self.median(unsyncedSaves),
                     peer: PeerScript.value(peer, "save"), unit: "s", lowerIsBetter: true),
            BenchRow(workload: "mlp_checkpoint_load", batchwise: Self.median(loads), peer: PeerScript.value(peer, "load"),
                     unit: "s", lowerIsBetter: true),
        ]
        print(json ? try BenchReport.json(rows) : BenchReport.table(rows))
    }

    /// The MLP after one Adam step on 32 random rows (so every slot exists), as a snapshot.
    static func snapshot() throws -> TrainingSnapshot {
        var model = try Sequential(inputFeatures: 784, [
            Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 256), BatchNormalization(), ActivationLayer(.relu),
            Dense(units: 10, activation: .softmax),
        ], seed: 0)
        var rng = SplitMix64(seed: 0)
        let x = try Tensor(shape: [32, 784], scalars: (0..<(32 * 784)).map { _ in rng.nextUniformFloat() })
        let y = Tensor((0..<32).map { _ in Float(rng.nextIndex(below: 10)) })
        var adam = Adam()
        let step = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy, mode: .training)
        try model.apply(step.stateUpdate)
        try adam.apply(step.gradients, to: &model)
        return TrainingSnapshot(model: model, optimizerState: adam.state, iteratorState: nil,
                                epoch: 0, stepInEpoch: 1, globalStep: 1, history: History())
    }

    static func seconds(_ body: () throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        let d = clock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}
