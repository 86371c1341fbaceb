import Foundation
import Testing
import CheckpointsTestSupport

/// `batchwise train --momentum` outside [0, 1] (and NaN, which no range contains) is a usage
/// error (status 64) naming the flag and the value, before any file is read or written. The
/// other optimizer flags were pinned by CLIOptimizerOptionTests; this check had no test.
@Suite(.timeLimit(.minutes(5)))
struct CLIMomentumRangeErrorTests {
    @Test("--momentum 1.5, -0.1 and nan are usage errors naming the flag and the value", arguments: ["1.5", "-0.1", "nan"])
    func momentumOutOfRange(value: String) throws {
        let folder = try CLITrainFromScratchTests().folder("momentum-\(value)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let save = folder.appendingPathComponent("x.keras")
        let run = try CLIIsolationTests.batchwise(
            ["train", "--layers", "dense:1:sigmoid", "--inputs", "1", "--data", folder.appendingPathComponent("d.h5").path,
             "--loss", "binary_crossentropy", "--optimizer", "sgd", "--momentum=\(value)", "--save", save.path], deadline: 120)
        #expect(run.signal == nil && !run.timedOut)
        #expect(run.status == 64, "status \(run.status): \(run.stderr)")
        #expect(run.stderr.contains("--momentum must be in [0, 1], got \(Double(value)!)"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: save.path))
    }
}
