import ArgumentParser
import Batchwise
import Experiments
import Foundation

/// `batchwise-bench soak`: trains the seed experiment's model (with Dropout) on the seed
/// pipeline for `--minutes`, saving a native checkpoint every `--checkpoint-every` steps into a
/// keep-last folder, and samples resident memory. PASS when the resident size at the end is
/// within 5% of the first sample after warm-up. There is no Python peer: this measures
/// Batchwise against itself over time.
///
/// ```sh
/// batchwise-bench soak --minutes 10 --json
/// ```
struct BenchSoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak", abstract: "Long training run with checkpoints; resident memory must stay flat.")

    @Option(help: "Training time in minutes.") var minutes = 10.0
    @Option(help: "Save a checkpoint every N optimizer steps.") var checkpointEvery = 500
    @Option(help: "Checkpoints kept in the folder.") var keepLast = 3
    // The training history keeps a few doubles per epoch, in memory and in every checkpoint: at
    // the seed experiment's 313 steps per epoch a 10-minute run (about 47,000 epochs at stop 11's
    // speed) grows it by megabytes, which is data, not a leak, and hid any real growth.
    @Option(help: "Optimizer steps per epoch (ignored with --iterator-per-epoch).") var stepsPerEpoch = 10_000
    @Option(help: "Seconds between memory samples.") var sampleSeconds = 10.0
    @Option(help: "Seconds before the baseline sample (default: a quarter of the run, at most 60).") var warmupSeconds: Double?
    @Option(help: "Allowed growth of resident memory after warm-up, in percent.") var limitPercent = 5.0
    @Option(help: "Checkpoint folder (default: a fresh temporary folder, removed afterwards).") var folder: String?
    @Flag(help: "Iterate one finite pass per epoch (a new iterator and prefetch thread each epoch) instead of one repeated pipeline.")
    var iteratorPerEpoch = false
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        guard minutes > 0, checkpointEvery > 0, keepLast >= 1, sampleSeconds > 0, stepsPerEpoch > 0 else {
            throw ValidationError("--minutes, --checkpoint-every, --keep-last, --sample-seconds and --steps-per-epoch must be positive")
        }
    }

    func run() throws {
        let seconds = minutes * 60
        // Resident memory still climbs for about 40 s in --iterator-per-epoch runs (malloc arenas of
        // the producer threads filling), so the baseline waits a minute when the run allows.
        let warmup = warmupSeconds ?? Swift.min(60, seconds / 4)
        let seed: UInt64 = 18
        let train = ShiftedGaussianData(count: 10_000, shift: 0, seed: seed, stream: 1)
        let validation = ShiftedGaussianData(count: 100, shift: 0, seed: seed, stream: 2)
        let shuffled = try Slices(train.features, train.labels).shuffle(bufferSize: 10_000, seed: seed)
        let pipeline = (iteratorPerEpoch ? shuffled.repeat(1) : shuffled.repeat()).batch(32)
            .map { (Tensor<Float>(converting: $0.0), Tensor<Float>(converting: $0.1)) }
            .prefetch(2)
        let validationBatches = try Slices(Tensor<Float>(converting: validation.features),
                                           Tensor<Float>(converting: validation.labels)).batch(32).eraseToAnyDataset()
        let model = try Sequential(inputFeatures: 1, [
            BatchNormalization(), Dense(units: 8, activation: .sigmoid), Dropout(rate: 0.2),
            BatchNormalization(), Dense(units: 1, activation: .sigmoid),
        ], seed: seed)
        let adam = Adam()
        var trainer = Trainer(model: model, optimizer: adam, loss: .binaryCrossentropy)

        let ownsFolder = folder == nil
        let url = folder.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("batchwise-soak-\(ProcessInfo.processInfo.processIdentifier)")
        defer { if ownsFolder { try? FileManager.default.removeItem(at: url) } }
        let checkpoints = try CheckpointDirectory(url: url, keepLast: keepLast, optimizer: OptimizerConfig(adam),
                                                  loss: .binaryCrossentropy)
        let recorder = SoakRecorder(duration: seconds, interval: sampleSeconds)
        recorder.sample(step: 0)
        try trainer.fit(pipeline, epochs: Int.max / 2, stepsPerEpoch: iteratorPerEpoch ? nil : stepsPerEpoch,
                        validationData: validationBatches,
                        callbacks: [checkpoints.callback(frequency: .everySteps(checkpointEvery)),
                                    SoakClock(recorder: recorder)],
                        progress: .quiet)
        let kept = try checkpoints.checkpoints()
        let reloaded = try kept.last.map { try NativeCheckpoint.load(from: $0.url).snapshot.globalStep }
        let report = SoakReport(samples: recorder.samples, warmupSeconds: warmup, limitPercent: limitPercent,
                                checkpointEvery: checkpointEvery, checkpointFilesKept: kept.count,
                                lastCheckpointStep: reloaded)
        print(json ? try report.json() : report.text())
        if !report.passed { throw ExitCode.failure }
    }
}

/// Stops `fit` when the time is up and samples memory on the recorder's schedule.
private struct SoakClock: TrainingCallback {
    let recorder: SoakRecorder
    mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
        recorder.tick(step: event.globalStep) ? .stop(reason: "soak time is up") : .proceed
    }
}

/// Memory samples taken during the run (a reference so that `fit`'s copy of the callback and
/// the command see the same samples; only the training thread touches it).
final class SoakRecorder: @unchecked Sendable {
    struct Sample: Codable {
        var seconds: Double
        var step: Int
        var residentMiB: Double
        var threads: Int
    }
    let duration: Double
    let interval: Double
    private let start = DispatchTime.now().uptimeNanoseconds
    private var nextSample: Double
    private(set) var samples: [Sample] = []

    init(duration: Double, interval: Double) {
        self.duration = duration
        self.interval = interval
        self.nextSample = interval
        samples.reserveCapacity(Int(duration / interval) + 2)
    }

    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// Samples if one is due; returns whether the run is over (taking a final sample then).
    func tick(step: Int) -> Bool {
        let now = elapsed
        if now >= duration {
            sample(step: step)
            return true
        }
        if now >= nextSample {
            sample(step: step)
            nextSample += interval
        }
        return false
    }

    func sample(step: Int) {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
        samples.append(Sample(seconds: elapsed, step: step, residentMiB: ProcessMemory.residentMiB() ?? 0, threads: threads))
    }
}
