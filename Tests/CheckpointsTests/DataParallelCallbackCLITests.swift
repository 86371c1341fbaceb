import Foundation
import Testing
import CheckpointsTestSupport

#if os(Linux)
/// `batchwise train`'s callbacks under `mpirun`: 2 ranks in ordered mode stop at the epoch of 1
/// rank with its weights, rank 0 alone prints the stop and writes the CSV file, a 2-rank run
/// checkpointed and resumed stops there too, and nothing is left running.
@Suite(.serialized) struct DataParallelCallbackCLITests {
    private let fixtures = DataParallelTrainCLITests()

    @Test(.timeLimit(.minutes(4)))
    func twoRanksStopAtTheOneRankEpochWithItsWeights() throws {
        let folder = try fixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let batchwise = try MPIJob.batchwise()
        func run(ranks: Int) throws -> (ChildProcess, URL) {
            let log = folder.appendingPathComponent("log-\(ranks).csv")
            let arguments = CLITrainCallbackTests.trainArguments(folder, save: "out-\(ranks).keras", extra: [
                "--early-stopping-patience", "2", "--restore-best-weights", "--csv-log", log.path, "--reduction", "ordered"])
            return (try MPIJob.run(["-np", "\(ranks)", batchwise] + arguments), log)
        }
        let (one, oneLog) = try run(ranks: 1)
        let (two, twoLog) = try run(ranks: 2)
        for job in [one, two] { #expect(job.status == 0 && !job.timedOut, "\(job.stderr)") }
        let stops = { (job: ChildProcess) in
            job.stdout.split(separator: "\n").filter { $0.hasPrefix("Epoch ") && $0.hasSuffix(": early stopping") }.map(String.init)
        }
        let restores = { (job: ChildProcess) in job.stdout.split(separator: "\n").filter { $0.hasPrefix("Restoring model weights") } }
        // Rank 0 alone prints: one stop line, one restore line, one digest.
        #expect(stops(one).count == 1 && stops(two) == stops(one), "\(one.stdout)\n\(two.stdout)")
        #expect(restores(one).count == 1 && restores(two) == restores(one), "\(two.stdout)")
        let digests = (CLITrainCallbackTests.digest(one), CLITrainCallbackTests.digest(two))
        #expect(digests.0.count == 1 && digests.1 == digests.0, "\(one.stdout)\n\(two.stdout)")
        // The run stopped early, and its CSV file has a row per epoch that ran, the same on 1 and 2 ranks.
        let epochsRun = Int(stops(one).first?.dropFirst("Epoch ".count).prefix { $0.isNumber } ?? "") ?? 0
        #expect(epochsRun > 3 && epochsRun < CLITrainCallbackTests.epochs, "\(one.stdout)")
        let rows = try CLITrainCallbackTests.csv(oneLog)
        #expect(rows.count == epochsRun + 1 && rows.first == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"], "\(rows)")
        #expect(try CLITrainCallbackTests.csv(twoLog) == rows)

        // Checkpointed on 2 ranks an epoch before the stop (after the best epoch: early stopping is
        // waiting) and resumed on 2 ranks: the same stop, weights and CSV rows.
        let checkpoint = folder.appendingPathComponent("run.h5"), log = folder.appendingPathComponent("parts.csv")
        let options = ["--early-stopping-patience", "2", "--restore-best-weights", "--csv-log", log.path]
        let first = try MPIJob.run(["-np", "2", batchwise] + CLITrainCallbackTests.trainArguments(
            folder, save: "first.keras", epochs: epochsRun - 1, extra: options + ["--checkpoint", checkpoint.path]))
        #expect(first.status == 0 && !first.timedOut, "\(first.stderr)")
        let stoppedCheckpoint = folder.appendingPathComponent("stopped.h5")
        let resume = { (from: URL, save: String, extra: [String]) in
            try MPIJob.run(["-np", "2", batchwise, "train", "--resume", from.path,
                            "--data", folder.appendingPathComponent("d.h5").path, "--epochs", "\(CLITrainCallbackTests.epochs)",
                            "--validation-split", "0.25", "--seed", "3",
                            "--save", folder.appendingPathComponent(save).path] + options + extra)
        }
        let resumed = try resume(checkpoint, "resumed.keras", ["--checkpoint", stoppedCheckpoint.path])
        #expect(resumed.status == 0 && !resumed.timedOut, "\(resumed.stderr)")
        #expect(stops(resumed) == stops(one) && CLITrainCallbackTests.digest(resumed) == digests.0, "\(resumed.stdout)")
        #expect(try CLITrainCallbackTests.csv(log) == rows)

        // The checkpoint written where it stopped, resumed on 2 ranks: the library's fit trains
        // nothing more (no epoch line, no CSV row), and the stop line and weights are the same.
        let finished = try resume(stoppedCheckpoint, "finished.keras", [])
        #expect(finished.status == 0 && !finished.timedOut, "\(finished.stderr)")
        #expect(stops(finished) == stops(one) && CLITrainCallbackTests.digest(finished) == digests.0, "\(finished.stdout)")
        #expect(!finished.stdout.contains("Epoch \(epochsRun + 1)/"), "\(finished.stdout)")
        #expect(try CLITrainCallbackTests.csv(log) == rows)
        fixtures.expectNothingLeft(folder)
    }
}
#endif
