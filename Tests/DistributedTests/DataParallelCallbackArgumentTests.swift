import Datasets
import Distributed
import Foundation
import Tensors
import Testing
import Training

/// `DataParallelTrainer.fit`'s callbacks and `validationSteps` in a world of one (in process):
/// refusals before any step, a callback's own error passed through as `Trainer.fit` passes it,
/// the stop reason, and a CSVLogger writing its file (rank 0 of a world of one).
struct DataParallelCallbackArgumentTests {
    typealias Fixture = DataParallelTrainerArgumentErrorTests

    struct Refusal: Error, Equatable {}

    /// Throws `Refusal` after global step `step`.
    struct ThrowsAfter: TrainingCallback {
        let step: Int
        mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
            if event.globalStep == step { throw Refusal() }
            return .proceed
        }
    }

    @Test func validationStepsBelowOneOrWithoutValidationDataAreRefusedBeforeTraining() throws {
        var trainer = try Fixture.trainer()
        let before = trainer.model.variables.map(\.value)
        #expect(throws: DataParallelError.invalidArgument(argument: "validationSteps", reason: "must be at least 1, got 0")) {
            try trainer.fit(try Fixture.rows(), epochs: 1, validationData: try Fixture.rows(5), validationSteps: 0)
        }
        #expect(throws: DataParallelError.invalidArgument(argument: "validationSteps", reason: "limits validationData, but there is none")) {
            try trainer.fit(try Fixture.rows(), epochs: 1, validationSteps: 1)
        }
        #expect(trainer.model.variables.map(\.value) == before, "trained before refusing")
    }

    /// A callback's error reaches the caller as it is (a world of one has no other rank to tell),
    /// after exactly the steps before it; a `.stop` sets `stopReason`, and the next fit clears it.
    @Test func aCallbacksErrorPassesThroughAndAStopIsReported() throws {
        var trainer = try Fixture.trainer()
        var steps = 0
        #expect(throws: Refusal()) {
            try trainer.fit(try Fixture.rows(), epochs: 3, callbacks: [ThrowsAfter(step: 3)]) { _, _ in steps += 1 }
        }
        #expect(steps == 2, "afterStep ran \(steps) times before the error")
        let history = try trainer.fit(try Fixture.rows(), epochs: 3, callbacks: [TimeBudgetStop(seconds: 0)])
        #expect(trainer.stopReason == "time budget of 0.0 s used up after step 1", "\(String(describing: trainer.stopReason))")
        #expect(history["loss"]?.count == 1)
        try trainer.fit(try Fixture.rows(), epochs: 1)
        #expect(trainer.stopReason == nil)
    }

    /// Rank 0 of a world of one writes the CSVLogger's file: a row per epoch under Keras's header.
    @Test func aCSVLoggerWritesItsFileOnRankZero() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-dp-csv-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        var trainer = try Fixture.trainer()
        try trainer.fit(try Fixture.rows(), epochs: 2, validationData: try Fixture.rows(5), callbacks: [CSVLogger(url: url)])
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3 && lines.first == "epoch,loss,val_loss" && lines.last?.hasPrefix("1,") == true, "\(lines)")
    }
}
