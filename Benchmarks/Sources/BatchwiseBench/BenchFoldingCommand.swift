import ArgumentParser
import Batchwise
import Foundation

/// `batchwise-bench folding [--json]`: `Sequential.predict` throughput of the 784-256-256-10
/// BN MLP (a BatchNormalization after each hidden Dense) before and after
/// `foldingBatchNormalization()`, in inference mode. Both variants are timed in alternating
/// slices, so load drift on a shared machine does not favour either.
struct BenchFoldingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "folding",
        abstract: "Predict throughput of the BN MLP with and without BatchNormalization folding."
    )

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Timed seconds per variant, split into alternating slices.")
    var seconds: Double = 3

    @Option(help: "The batch size of predict (Keras's default is 32).")
    var batchSize = 32

    func run() throws {
        guard seconds > 0, batchSize > 0 else { throw ValidationError("--seconds and --batch-size must be positive") }
        let model = try Self.calibratedMLP()
        let folded = try model.foldingBatchNormalization()
        var rng = SplitMix64(seed: 2)
        let x = try Tensor(shape: [2048, 784], scalars: (0..<(2048 * 784)).map { _ in Float(rng.nextNormal()) })
        let difference = Self.relativeDifference(try folded.predict(x, batchSize: batchSize),
                                                 try model.predict(x, batchSize: batchSize))
        guard difference <= 1e-5 else { throw ValidationError("folded outputs differ by \(difference) relative") }

        let slices = 6
        var elapsed = [0.0, 0.0], rows = [0, 0]
        for slice in 0..<(2 * slices) {
            let variant = slice % 2
            let (time, count) = try Self.predictRows(variant == 0 ? model : folded, x, batchSize: batchSize,
                                                     seconds: seconds / Double(slices))
            elapsed[variant] += time
            rows[variant] += count
        }
        let unfolded = Double(rows[0]) / elapsed[0], foldedRate = Double(rows[1]) / elapsed[1]
        if json {
            print(String(format: "{\"batch_size\":%d,\"folded_samples_per_second\":%.1f,\"max_relative_difference\":%.3g,"
                         + "\"speedup\":%.3f,\"unfolded_samples_per_second\":%.1f}",
                         batchSize, foldedRate, difference, foldedRate / unfolded, unfolded))
        } else {
            print("BN MLP 784-256-256-10, predict with batch size \(batchSize), inference mode")
            print(String(format: "unfolded  %10.0f samples/s", unfolded))
            print(String(format: "folded    %10.0f samples/s   %.2fx   (outputs within %.2g relative)",
                         foldedRate, foldedRate / unfolded, difference))
        }
    }

    /// The BN MLP with moving statistics of its own activations (a training pass with momentum
    /// 0 on a batch of 512), so that folding works on realistic values.
    static func calibratedMLP() throws -> Sequential {
        var model = try Sequential(inputFeatures: 784, [
            Dense(units: 256), BatchNormalization(momentum: 0), ActivationLayer(.relu),
            Dense(units: 256), BatchNormalization(momentum: 0), ActivationLayer(.relu),
            Dense(units: 10, activation: .softmax),
        ], seed: 0)
        var rng = SplitMix64(seed: 1)
        let x = try Tensor(shape: [512, 784], scalars: (0..<(512 * 784)).map { _ in Float(rng.nextNormal()) })
        let y = Tensor((0..<512).map { _ in Float(rng.nextIndex(below: 10)) })
        try model.apply(try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy).stateUpdate)
        return model
    }

    /// Predicts all of `x` repeatedly for about `seconds`; returns the time taken and the rows predicted.
    static func predictRows(_ model: Sequential, _ x: Tensor<Float>, batchSize: Int,
                            seconds: Double) throws -> (seconds: Double, rows: Int) {
        let clock = ContinuousClock()
        let start = clock.now
        var rows = 0, elapsed = 0.0
        while elapsed < seconds {
            let output = try model.predict(x, batchSize: batchSize)
            guard output.shape[0] == x.shape[0] else { throw ValidationError("predict returned \(output.shape)") }
            rows += x.shape[0]
            let d = clock.now - start
            elapsed = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        return (elapsed, rows)
    }

    /// `max |a − b| / max |b|`.
    static func relativeDifference(_ a: Tensor<Float>, _ b: Tensor<Float>) -> Double {
        let scale = b.scalars.map { abs(Double($0)) }.max() ?? 0
        return (zip(a.scalars, b.scalars).map { abs(Double($0) - Double($1)) }.max() ?? .infinity) / scale
    }
}
