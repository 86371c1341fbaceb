import Foundation
import Testing
import CheckpointsTestSupport

#if os(Linux)
/// A checkpoint of a single-process run holds its pipeline's state; data-parallel training
/// continues at the checkpoint's epoch and step in its own order (all rows shuffled with
/// `--seed`, or the file order with `--no-shuffle`). A state of another order (a buffered
/// shuffle, no shuffle where the resume shuffles, another seed) or of another batch size would have the job
/// train on other rows than the run it continues, with no sign of it: it is refused, once,
/// naming the checkpoint and the pipeline stage that differs. A state of the same order resumes.
@Suite(.serialized) struct DataParallelResumeStateErrorTests {
    /// `train` arguments of the runs: 96 rows in global batches of 32 (3 steps per epoch).
    private func arguments(_ folder: URL, _ extra: [String]) -> [String] {
        ["train", "--data", folder.appendingPathComponent("d.h5").path] + extra
    }

    /// A single-process run of one epoch with `order` (extra options), checkpointed after step 2
    /// of 3 only: the checkpoint is inside the epoch, with the pipeline's state.
    private func singleProcessCheckpoint(_ folder: URL, order: [String]) throws -> URL {
        let checkpoint = folder.appendingPathComponent("single.h5")
        let run = try CLIIsolationTests.batchwise(arguments(folder, [
            "--layers", "dense:8:relu,dense:3:softmax", "--inputs", "4", "--loss", "sparse_categorical_crossentropy",
            "--optimizer", "adam", "--seed", "3", "--batch-size", "32", "--epochs", "1", "--checkpoint", checkpoint.path, "--every", "2",
            "--save", folder.appendingPathComponent("single.keras").path, "--quiet"] + order), deadline: 120)
        try #require(run.status == 0, "\(run.stderr)")
        return checkpoint
    }

    /// `mpirun -np 2 batchwise train --resume checkpoint ...` up to 2 epochs.
    private func resumeOnTwoRanks(_ folder: URL, _ checkpoint: URL, _ extra: [String]) throws -> ChildProcess {
        try MPIJob.run(["-np", "2", try MPIJob.batchwise()] + arguments(folder, [
            "--resume", checkpoint.path, "--epochs", "2", "--save", folder.appendingPathComponent("out.keras").path] + extra))
    }

    private func folder(_ label: String) throws -> URL {
        let folder = try NativeFixtures.folder(label)
        try DataParallelTestData.write(to: folder.appendingPathComponent("d.h5"), rows: 96)
        return folder
    }

    /// (the single-process run's order, the resume's options, the stage the message names);
    /// the single-process run has `--seed 3 --batch-size 32`.
    static let foreignStates: [([String], [String], String)] = [
        (["--shuffle-buffer", "10"], ["--seed", "3", "--batch-size", "32"],
         "the saved state is for 'shuffle' but this pipeline stage is 'globalShuffle'"),
        (["--no-shuffle"], ["--seed", "3", "--batch-size", "32"],
         "stages range > batch, but this pipeline's 'randomAccess' has stages range > globalShuffle > batch"),
        ([], ["--seed", "3", "--batch-size", "16"], "'batch' stage with size 32"),
        ([], ["--seed", "4", "--batch-size", "32"], "'globalShuffle' stage with seed 3, but this pipeline's 'globalShuffle' has seed 4"),
    ]

    @Test(.timeLimit(.minutes(3)), arguments: foreignStates)
    func aPipelineStateOfAnotherOrderIsRefusedNamingTheCheckpoint(order: [String], resume: [String], stage: String) throws {
        let folder = try folder("aPipelineStateOfAnotherOrderIsRefused\(order.joined())\(resume.joined())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = try singleProcessCheckpoint(folder, order: order)
        let run = try resumeOnTwoRanks(folder, checkpoint, resume)
        #expect(run.status != 0 && !run.timedOut && run.signal == nil, "status \(run.status): \(run.stderr)")
        let lines = run.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("batchwise train: ") }
        let prefix = "batchwise train: ranks 0, 1 failed: \(checkpoint.path): the checkpoint holds the pipeline state of a "
            + "single-process run, which data-parallel training cannot continue:"
        #expect(lines.count == 1 && lines[0].hasPrefix(prefix) && lines[0].contains(stage) && lines[0].hasSuffix("(--resume)"),
                "\(run.stderr)")
        #expect(!run.stdout.contains("Epoch"), "training ran: \(run.stdout)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.keras").path))
        let left = ProcessLifetimeTests.livingProcesses(mentioning: folder.path)
        #expect(left.isEmpty, "processes outlived the run: \(left)")
    }

    /// The default shuffle of a plain run is the order data-parallel training reads: its
    /// checkpoint resumes on 2 ranks, for the remaining step and the second epoch.
    @Test(.timeLimit(.minutes(3)))
    func aPipelineStateOfTheSameOrderResumes() throws {
        let folder = try folder(#function)
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = try singleProcessCheckpoint(folder, order: [])
        let run = try resumeOnTwoRanks(folder, checkpoint, ["--seed", "3", "--batch-size", "32"])
        #expect(run.status == 0 && !run.timedOut, "\(run.stderr)")
        #expect(run.stdout.contains("Epoch 2/2: 3 steps on 2 ranks") && run.stdout.contains("weights sha256: "), "\(run.stdout)")
        #expect(ProcessLifetimeTests.eventually(within: 30) { ProcessLifetimeTests.livingProcesses(mentioning: folder.path).isEmpty })
    }
}
#endif
