import Foundation
import Testing
import CheckpointsTestSupport

/// `batchwise experiment --plot FILE` writes its chart after the whole experiment: a chart
/// path that cannot be written is refused before the experiment runs (status 64, the flag and
/// the folder named), not after minutes of training.
@Suite(.timeLimit(.minutes(3)))
struct CLIExperimentPlotErrorTests {
    @Test("--plot into a missing folder, or onto a folder, is refused before the experiment runs")
    func plotPathRefusedFirst() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("absent")
        let cases = [(missing.appendingPathComponent("chart.svg").path, "the folder \(missing.path) does not exist"),
                     (folder.path, "--plot \(folder.path) is a folder; give a file name for the chart")]
        for (plot, message) in cases {
            // Short enough that, were the experiment run first, the test would see it finish.
            let run = try CLIIsolationTests.batchwise(["experiment", "--epochs", "1", "--steps-per-epoch", "2", "--plot", plot], deadline: 120)
            #expect(run.signal == nil && !run.timedOut)
            #expect(run.status == 64 && run.stderr.contains(message), "\(run.status): \(run.stderr)")
            #expect(run.stdout.isEmpty, "the experiment ran before the refusal: \(run.stdout.prefix(300))")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }
}
