import ArgumentParser
import Experiments
import Foundation

/// `batchwise-bench train`: wall time of the seed experiment's `fit` (10 x 313 steps with
/// validation, seed pipeline with prefetch) beside Keras's `model.fit` on the same pipeline
/// (Benchmarks/peers/train_peer.py), measured in the same invocation.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Seed-experiment fit wall time vs Keras model.fit.")

    @Flag(help: "Print JSON rows instead of a table.") var json = false
    @Option(help: "Repetitions of the Batchwise fit; the median is reported.") var repetitions = 5
    @Flag(help: "Measure Batchwise only.") var noPeer = false

    func run() throws {
        var config = SeedExperiment.Configuration(seed: 18)
        config.sweepShifts = []
        var times: [Double] = []
        for _ in 0..<max(1, repetitions) {
            times.append(try SeedExperiment(configuration: config).run(progress: .quiet).fitSeconds)
        }
        let ours = times.sorted()[times.count / 2]
        let peer = noPeer ? nil : PeerScript.value(
            PeerScript.run("Benchmarks/peers/train_peer.py",
                           arguments: ["--epochs", "\(config.epochs)", "--steps-per-epoch", "\(config.stepsPerEpoch)"]),
            "seed_fit")
        let rows = [BenchRow(workload: "seed_fit", batchwise: ours, peer: peer, unit: "s", lowerIsBetter: true)]
        print(json ? try BenchReport.json(rows) : BenchReport.table(rows))
    }
}
