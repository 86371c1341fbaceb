import Foundation
import Testing
import Tensors
@testable import Training

/// A `CSVLogger(append: true)` pointed at a file that is not text (not UTF-8): the
/// `TrainingError` names the logger and the file, and the file is left as it was. (A text
/// file without a CSVLogger header was pinned by TrainerArgumentErrorTests; an unreadable one
/// had no test.) The logger first reads the file when the first epoch ends, so that epoch has
/// run by then: a check before training would need a "training begins" callback hook, which
/// `TrainingCallback` does not have (docs/TESTING.md lists it as not done).
@Suite("Appending a CSV log to a file that is not text names the file and leaves it alone")
struct CSVLoggerAppendErrorTests {
    @Test("a binary file")
    func binaryFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bw-csv-binary-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        let bytes = Data([0xFF, 0xFE, 0x00, 0xC3, 0x28, 0x89])
        try bytes.write(to: url)
        var trainer = try TrainerArgumentErrorTests.trainer()
        let error = #expect(throws: TrainingError.self) {
            try trainer.fit(TrainerArgumentErrorTests.batches(), epochs: 1, callbacks: [CSVLogger(url: url, append: true)],
                            progress: .quiet)
        }
        guard case let .invalidArgument(layer, message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(layer == "CSVLogger" && message.hasPrefix("\(url.path): "), "\(message)")
        #expect(try Data(contentsOf: url) == bytes)
    }
}
