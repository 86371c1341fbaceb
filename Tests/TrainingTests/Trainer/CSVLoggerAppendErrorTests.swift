import Foundation
import Synchronization
import Testing
import Tensors
@testable import Training

/// A `CSVLogger(append: true)` pointed at a file it cannot continue (not text, or text without
/// a CSVLogger header): the `TrainingError` names the logger and the file, the file is left as
/// it was, and no step has run — the logger reads the file in `trainingWillBegin`, before the
/// first step, not when the first epoch ends.
@Suite("Appending a CSV log to a file it cannot continue is refused before the first step")
struct CSVLoggerAppendErrorTests {
    /// The steps `fit` reported, kept by the test (`fit` works on copies of its callbacks).
    private final class Steps: Sendable {
        let count = Mutex(0)
    }

    private struct StepCounter: TrainingCallback {
        let steps: Steps
        mutating func stepDidEnd(_ event: StepEvent, snapshot: () throws -> TrainingSnapshot) throws -> CallbackDecision {
            steps.count.withLock { $0 += 1 }
            return .proceed
        }
    }

    @Test("a binary file, and a text file without a header", arguments: [
        Data([0xFF, 0xFE, 0x00, 0xC3, 0x28, 0x89]),
        Data("loss,accuracy\n0.5,0.7\n".utf8),
    ])
    func refusedBeforeTraining(bytes: Data) throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bw-csv-append-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try bytes.write(to: url)
        let steps = Steps()
        var trainer = try TrainerArgumentErrorTests.trainer()
        let error = #expect(throws: TrainingError.self) {
            try trainer.fit(TrainerArgumentErrorTests.batches(), epochs: 1,
                            callbacks: [StepCounter(steps: steps), CSVLogger(url: url, append: true)], progress: .quiet)
        }
        guard case let .invalidArgument(layer, message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(layer == "CSVLogger" && message.hasPrefix("\(url.path): "), "\(message)")
        #expect(try Data(contentsOf: url) == bytes)
        #expect(steps.count.withLock { $0 } == 0, "the logger refused the file only after training had started")
    }
}
