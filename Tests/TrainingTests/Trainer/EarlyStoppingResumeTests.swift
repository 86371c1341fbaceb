import Datasets
import Testing
import Tensors
@testable import Training

/// A `fit` resumed from the snapshot taken where `EarlyStopping` stopped (its last end-of-epoch
/// checkpoint) must train nothing more: the uninterrupted run had stopped there, and training one
/// more epoch before judging again would end with other weights — a silently different result.
/// Mid-epoch snapshots and snapshots before the stop resume and train on as before, and a state
/// saved before `stopped_epoch` existed is read by the stop rule.
@Suite struct EarlyStoppingResumeTests {
    static let epochs = 30
    static let stepsPerEpoch = 4   // 64 rows in batches of 16

    /// Counts what a resumed `fit` does: steps, epochs, stops announced, ends.
    struct Counter: TrainingCallback {
        let log: Recorder<String>
        mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
            log.append("step")
            return .proceed
        }
        mutating func epochDidEnd(_ event: EpochEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
            log.append("epoch")
            return .proceed
        }
        mutating func trainingDidStop(_ event: StopEvent, snapshot: () throws -> TrainingSnapshot) throws {
            log.append("stop")
        }
        mutating func trainingDidEnd(model: Sequential) -> Sequential? {
            log.append("end")
            return nil
        }
    }

    /// Training rows labelled `x > 0`, validation rows around 0.2 labelled `x > 0.2`: the
    /// validation loss improves for 11 epochs while the model learns the direction, then worsens
    /// as it sharpens at 0 (patience 0 and 1 stop after 12 epochs, as Keras's do, 2 after 13, 3 after 14).
    private func data() throws -> (train: AnyDataset<Trainer.Batch>, validation: AnyDataset<Trainer.Batch>) {
        let (x, y) = TrainerFixtures.gaussian(rows: 64, seed: 11)
        let (xv, yv) = TrainerFixtures.gaussian(rows: 32, seed: 12, shift: 0.2)
        return (try TrainerFixtures.pipeline((x, y), seed: 3),
                try Slices(xv, yv).batch(16).eraseToAnyDataset())
    }

    /// A fresh trainer (a resume takes everything from the snapshot) fitted with `stopping`, the
    /// end-of-epoch snapshots (and with `everySteps`, those every few steps) recorded.
    private func run(_ stopping: EarlyStopping, everySteps: Int? = nil, resumingFrom snapshot: TrainingSnapshot? = nil,
                     log: Recorder<String> = Recorder()) throws -> (trainer: Trainer, history: History, saved: [TrainingSnapshot]) {
        let (train, validation) = try data()
        var trainer = Trainer(model: try TrainerFixtures.seedModel(seed: 7), optimizer: Adam(learningRate: 0.02),
                              loss: .binaryCrossentropy)
        let saved = Recorder<TrainingSnapshot>()
        let frequency = everySteps.map { CheckpointCallback.Frequency.everySteps($0) } ?? .everyEpoch
        let history = try trainer.fit(train, epochs: Self.epochs, stepsPerEpoch: Self.stepsPerEpoch, validationData: validation,
                                      callbacks: [stopping, CheckpointCallback(frequency: frequency) { saved.append($0) }, Counter(log: log)],
                                      progress: .quiet, resumingFrom: snapshot)
        return (trainer, history, saved.values)
    }

    private func expectSameEnd(_ resumed: (trainer: Trainer, history: History), as straight: (trainer: Trainer, history: History),
                               _ label: String) {
        #expect(TrainerFixtures.bits(resumed.trainer.model) == TrainerFixtures.bits(straight.trainer.model), "\(label)")
        #expect(resumed.trainer.optimizer.state == straight.trainer.optimizer.state, "\(label)")
        #expect(resumed.history == straight.history, "\(label)")
        #expect(resumed.trainer.stopReason == straight.trainer.stopReason, "\(label)")
    }

    @Test(arguments: [(2, false), (2, true), (1, true), (0, false), (0, true)])
    func resumingWhereEarlyStoppingStoppedTrainsNothingMore(patience: Int, restoreBest: Bool) throws {
        let stopping = { EarlyStopping(monitor: "val_loss", patience: patience, restoreBest: restoreBest) }
        let straight = try run(stopping())
        let stopped = straight.history.epochs.count
        #expect(straight.trainer.stopReason?.hasPrefix("early stopping: val_loss did not improve") == true)
        #expect(stopped > patience + 1 && stopped < Self.epochs, "the data must make early stopping stop after a few epochs: \(stopped)")
        let last = try #require(straight.saved.last)
        #expect(last.epoch == stopped && last.stepInEpoch == 0)
        #expect(last.callbackStates["EarlyStopping"]?.values["stopped_epoch"] == Double(stopped - 1))

        let log = Recorder<String>()
        let resumed = try run(stopping(), resumingFrom: last, log: log)
        #expect(log.values == ["end"], "the resumed fit trained or announced something: \(log.values)")
        #expect(resumed.saved.isEmpty)
        expectSameEnd((resumed.trainer, resumed.history), as: (straight.trainer, straight.history), "patience \(patience)")
        if restoreBest {
            // The best epoch's weights, not the last epoch's: what the uninterrupted run returned.
            #expect(TrainerFixtures.bits(resumed.trainer.model) != TrainerFixtures.bits(last.model))
        }
    }

    /// Snapshots inside the epoch early stopping stopped after (and at every earlier boundary)
    /// are no stop: the resumed run trains on and stops where the uninterrupted one stopped.
    @Test func aMidEpochOrEarlierSnapshotResumesAndStopsWhereTheUninterruptedRunStops() throws {
        let stopping = { EarlyStopping(monitor: "val_loss", patience: 2, restoreBest: true) }
        let straight = try run(stopping(), everySteps: 3)
        let stopped = straight.history.epochs.count
        let stopStep = stopped * Self.stepsPerEpoch
        let positions = straight.saved.map { ($0.epoch, $0.stepInEpoch) }
        let resumable = straight.saved.filter { $0.globalStep >= stopStep - 2 * Self.stepsPerEpoch && $0.globalStep < stopStep }
        #expect(resumable.contains { $0.stepInEpoch > 0 && $0.epoch == stopped - 1 }, "\(positions)")
        for snapshot in resumable {
            let log = Recorder<String>()
            let resumed = try run(stopping(), resumingFrom: snapshot, log: log)
            #expect(log.values.filter { $0 == "step" }.count == stopStep - snapshot.globalStep, "\(snapshot.globalStep)")
            expectSameEnd((resumed.trainer, resumed.history), as: (straight.trainer, straight.history),
                          "resumed at epoch \(snapshot.epoch), step \(snapshot.stepInEpoch)")
        }
    }

    /// A state written before `stopped_epoch` existed: the stop's snapshot still trains nothing
    /// more (read from the counters), the epoch before it still trains that one epoch.
    @Test(arguments: [0, 2])
    func aStateWithoutTheRecordedStopIsReadByTheStopRule(patience: Int) throws {
        let stopping = { EarlyStopping(monitor: "val_loss", patience: patience, restoreBest: true) }
        let straight = try run(stopping())
        let stopped = straight.history.epochs.count
        for snapshot in straight.saved.suffix(2) {
            var old = snapshot
            let removed = old.callbackStates["EarlyStopping"]?.values.removeValue(forKey: "stopped_epoch")
            #expect(removed != nil)
            let log = Recorder<String>()
            let resumed = try run(stopping(), resumingFrom: old, log: log)
            let epochsRun = log.values.filter { $0 == "epoch" }.count
            #expect(epochsRun == stopped - snapshot.epoch, "old state at epoch \(snapshot.epoch): \(log.values)")
            expectSameEnd((resumed.trainer, resumed.history), as: (straight.trainer, straight.history),
                          "old state at epoch \(snapshot.epoch)")
        }
    }

    /// Resumed with a larger patience, the stopped run trains on as a run with that patience
    /// would have (the counters do not depend on the patience); the same patience does not.
    @Test func aLargerPatienceTrainsOnAsARunWithThatPatience() throws {
        let straight = try run(EarlyStopping(monitor: "val_loss", patience: 1))
        let patient = try run(EarlyStopping(monitor: "val_loss", patience: 3))
        #expect(patient.history.epochs.count > straight.history.epochs.count)
        let last = try #require(straight.saved.last)
        let resumed = try run(EarlyStopping(monitor: "val_loss", patience: 3), resumingFrom: last)
        expectSameEnd((resumed.trainer, resumed.history), as: (patient.trainer, patient.history), "patience 1 -> 3")
    }

    /// The stop a snapshot holds, as `batchwise train` reads it for its "Epoch N: early stopping" line.
    @Test func theStopIsReadFromASnapshot() throws {
        let stopping = EarlyStopping(monitor: "val_loss", patience: 1)
        let straight = try run(stopping)
        let (before, last) = (straight.saved[straight.saved.count - 2], try #require(straight.saved.last))
        #expect(try stopping.stopReason(resumingFrom: last) == straight.trainer.stopReason)
        #expect(try stopping.stopReason(resumingFrom: before) == nil)
        #expect(try EarlyStopping(monitor: "val_loss", patience: 2).stopReason(resumingFrom: last) == nil)
        #expect(throws: TrainingError.self) { try EarlyStopping(monitor: "val_accuracy").stopReason(resumingFrom: last) }
    }
}
