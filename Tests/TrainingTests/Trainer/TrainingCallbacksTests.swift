import Foundation
import Datasets
import Testing
import Tensors
@testable import Training

/// Issue 17 item 6: CSV logging of the history, ReduceLROnPlateau with Keras's semantics, and a
/// time budget that stops mid-epoch with an exact checkpoint.
@Suite struct TrainingCallbacksTests {
    static let stepsPerEpoch = 4   // 64 rows in batches of 16

    private func trainer(_ optimizer: any Optimizer = Adam(learningRate: 0.01)) throws -> Trainer {
        Trainer(model: try TrainerFixtures.seedModel(seed: 7, dropout: true), optimizer: optimizer, loss: .binaryCrossentropy)
    }

    private func data() throws -> AnyDataset<Trainer.Batch> {
        let (x, y) = TrainerFixtures.gaussian(rows: 64, seed: 11)
        return try Slices(x, y).shuffle(bufferSize: 64, seed: 3).batch(16).prefetch(2).eraseToAnyDataset()
    }

    private func validation() throws -> AnyDataset<Trainer.Batch> {
        let (x, y) = TrainerFixtures.gaussian(rows: 24, seed: 12)
        return try Slices(x, y).batch(8).eraseToAnyDataset()
    }

    private func temporaryFile(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("bw-callbacks-\(ProcessInfo.processInfo.globallyUniqueString)-\(name)")
    }

    @Test("CSVLogger writes Keras's format: epoch then sorted log names, one row per epoch; append continues a file")
    func csvLogger() throws {
        let url = temporaryFile("log.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        var trainer = try trainer()
        let history = try trainer.fit(data(), epochs: 2, validationData: validation(), callbacks: [CSVLogger(url: url)],
                                      progress: .quiet)
        let names = history.names.sorted()
        var expected = (["epoch"] + names).joined(separator: ",") + "\n"
        for epoch in 0..<2 {
            expected += (["\(epoch)"] + names.map { "\(history[$0]![epoch])" }).joined(separator: ",") + "\n"
        }
        #expect(try String(contentsOf: url, encoding: .utf8) == expected)
        #expect(names.contains("val_loss") && names.contains("loss"))

        // A second run appending: no second header, rows continue.
        var more = try self.trainer()
        let second = try more.fit(data(), epochs: 1, validationData: validation(),
                                  callbacks: [CSVLogger(url: url, separator: ",", append: true)], progress: .quiet)
        expected += (["0"] + names.map { "\(second[$0]![0])" }).joined(separator: ",") + "\n"
        #expect(try String(contentsOf: url, encoding: .utf8) == expected)
    }

    /// A clock that advances one second per reading.
    final class SteppingClock: @unchecked Sendable {
        private let lock = NSLock()
        private var now = 0.0
        func read() -> Double {
            lock.lock()
            defer { lock.unlock() }
            now += 1
            return now
        }
    }

    @Test("a time budget stops mid-epoch; the checkpoint it leaves resumes into the uninterrupted run bit for bit")
    func timeBudgetStopsWithAnExactCheckpoint() throws {
        var straight = try trainer()
        let straightHistory = try straight.fit(data(), epochs: 3, validationData: validation(), progress: .quiet)
        let clock = SteppingClock()
        // Read once at creation (1: the deadline is 6.5), then once per step (step k reads k + 1): step 6 ends it,
        // the second step of the second epoch.
        let budget = TimeBudgetStop(seconds: 5.5, clock: { clock.read() })
        let saved = Recorder<TrainingSnapshot>()
        var first = try trainer()
        _ = try first.fit(data(), epochs: 3, validationData: validation(),
                          callbacks: [budget, CheckpointCallback(frequency: .everyEpoch) { saved.append($0) }], progress: .quiet)
        #expect(first.stopReason?.contains("time budget") == true)
        let latest = try #require(saved.values.last)
        #expect(latest.globalStep == 6 && latest.epoch == 1 && latest.stepInEpoch == 2)
        var resumed = try trainer()
        let history = try resumed.fit(data(), epochs: 3, validationData: validation(), progress: .quiet, resumingFrom: latest)
        #expect(TrainerFixtures.bits(resumed.model) == TrainerFixtures.bits(straight.model))
        #expect(resumed.optimizer.state == straight.optimizer.state)
        #expect(history == straightHistory)
    }

    /// Feeds ReduceLROnPlateau a sequence of monitored values and returns the rates after each epoch.
    private func rates(_ values: [Double], _ plateau: ReduceLROnPlateau, start: Float = 1) throws -> [Float] {
        var callback = plateau
        var optimizer: any Optimizer = SGD(learningRate: start)
        let model = try TrainerFixtures.seedModel(seed: 1, dropout: false)
        var out: [Float] = []
        for (epoch, value) in values.enumerated() {
            let decision = try callback.epochDidEnd(EpochEvent(epoch: epoch, logs: ["val_loss": value], model: model)) {
                throw TrainingError.invalidArgument(layer: "test", message: "no snapshot")
            }
            try decision.applyLearningRateChange(to: &optimizer)
            out.append(optimizer.learningRate)
        }
        return out
    }

    @Test("ReduceLROnPlateau follows Keras: patience, min_delta, cooldown, min_lr (values from Keras 3.15.1)")
    func reduceOnPlateau() throws {
        // keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.01, cooldown=1, min_lr=0.2) on an
        // SGD(1.0) with val_loss [1, 0.995, 0.99, 0.98, 0.98, 0.98, 0.98, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5] gives these rates:
        let plateau = try ReduceLROnPlateau(factor: 0.5, patience: 2, minDelta: 0.01, cooldown: 1, minLearningRate: 0.2)
        let values = [1, 0.995, 0.99, 0.98, 0.98, 0.98, 0.98, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
        #expect(try rates(values, plateau) == [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2])
        #expect(throws: TrainingError.self) { try ReduceLROnPlateau(factor: 1) }
    }

    @Test("fit applies ReduceLROnPlateau's reductions to its optimizer")
    func fitReducesTheRate() throws {
        var trainer = try trainer(SGD(learningRate: 0.01))
        // Nothing improves by 1e9: after the first epoch (the first value is always the best) each epoch halves the rate.
        let plateau = try ReduceLROnPlateau(monitor: "loss", factor: 0.5, patience: 1, minDelta: 1e9)
        try trainer.fit(data(), epochs: 3, callbacks: [plateau], progress: .quiet)
        #expect(trainer.optimizer.learningRate == Float(Double(Float(Double(Float(0.01)) * 0.5)) * 0.5))
    }

    @Test("ReduceLROnPlateau refuses an optimizer whose rate is a schedule, naming it")
    func reduceOnPlateauRefusesSchedules() throws {
        var optimizer: any Optimizer = Adam(options: OptimizerOptions(learningRate: .schedule(
            ExponentialDecay(initialLearningRate: 0.1, decaySteps: 2, decayRate: 0.5))))
        let decision = CallbackDecision.scaleLearningRate(factor: 0.5, minimum: 0)
        #expect { try decision.applyLearningRateChange(to: &optimizer) } throws: { error in
            (error as? TrainingError)?.localizedDescription.contains("ExponentialDecay") == true
        }
    }
}
