import Foundation
import Testing
import CheckpointsTestSupport

#if os(Linux)
/// `--validation-split` in data-parallel `batchwise train` (under `mpirun -np N` and with
/// `--ranks N`): the ranks score the rows a single-process run holds out (the last quarter of
/// 96, in file order) after every epoch, and rank 0 prints the validation values the
/// single-process run prints.
@Suite(.serialized) struct DataParallelValidationCLITests {
    /// The data-parallel CLI tests' folder: `d.h5` with 96 rows of 4 features and a class label.
    private let fixtures = DataParallelTrainCLITests()

    /// `train` arguments for a BN-MLP trained with SGD (whose steps move a weight by its
    /// gradient's size, so the data-parallel sums' rounding stays in the last bits) on
    /// `folder`'s data with a quarter held out, saving to `save`.
    private func trainArguments(_ folder: URL, save: String) -> [String] {
        ["train", "--layers", "dense:8:relu,batch_normalization,dense:3:softmax", "--inputs", "4",
         "--data", folder.appendingPathComponent("d.h5").path, "--loss", "sparse_categorical_crossentropy",
         "--optimizer", "sgd", "--learning-rate", "0.1", "--seed", "3", "--batch-size", "32", "--epochs", "2",
         "--validation-split", "0.25", "--save", folder.appendingPathComponent(save).path]
    }

    /// Each epoch line's value of `name` (` - name: value`), as printed.
    private func printed(_ name: String, in run: ChildProcess) -> [String] {
        run.stdout.split(separator: "\n").filter { $0.hasPrefix("Epoch ") }.compactMap { line in
            line.components(separatedBy: " - \(name): ").dropFirst().first?.components(separatedBy: " ").first
        }
    }

    /// The single-process run's `val_loss` and `val_accuracy` on its epoch lines, after the
    /// training loss and accuracy as Keras orders them; 1 and 2 ranks under mpirun and
    /// `--ranks 2` print the same accuracy and the same loss (ordered mode: the same digits on 1
    /// and 2 ranks; against one process within one unit of the last printed digit, since its
    /// training rounds differently).
    @Test(.timeLimit(.minutes(4)))
    func validationSplitUnderMPIPrintsTheSingleProcessValidationValues() throws {
        let folder = try fixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let alone = try CLIIsolationTests.batchwise(trainArguments(folder, save: "alone.keras"), deadline: 120)
        #expect(alone.status == 0, "\(alone.stderr)")
        let (losses, accuracies) = (printed("val_loss", in: alone), printed("val_accuracy", in: alone))
        #expect(losses.count == 2 && accuracies.count == 2, "\(alone.stdout)")
        let batchwise = try MPIJob.batchwise()
        let one = try MPIJob.run(["-np", "1", batchwise] + trainArguments(folder, save: "one.keras"))
        let two = try MPIJob.run(["-np", "2", batchwise] + trainArguments(folder, save: "two.keras"))
        let launched = try CLIIsolationTests.batchwise(trainArguments(folder, save: "ranks.keras") + ["--ranks", "2"], deadline: 120)
        for run in [one, two, launched] {
            #expect(run.status == 0, "\(run.stderr)")
            #expect(printed("val_accuracy", in: run) == accuracies, "\(run.stdout)\n\(alone.stdout)")
            let parallel = printed("val_loss", in: run).compactMap(Double.init), single = losses.compactMap(Double.init)
            #expect(parallel.count == 2 && single.count == 2 && zip(parallel, single).allSatisfy { abs($0 - $1) <= 1.01e-4 },
                    "\(run.stdout)\n\(alone.stdout)")
            // Keras's order: loss, accuracy, val_loss, val_accuracy.
            let line = run.stdout.split(separator: "\n").first { $0.hasPrefix("Epoch 1/2: 3 steps on ") }.map(String.init) ?? ""
            let order = [" - loss: ", " - accuracy: ", " - val_loss: ", " - val_accuracy: "].map { line.range(of: $0)?.lowerBound }
            #expect(order.allSatisfy { $0 != nil } && order.compactMap { $0 } == order.compactMap { $0 }.sorted(), "\(run.stdout)")
        }
        #expect(printed("val_loss", in: two) == printed("val_loss", in: one), "\(one.stdout)\n\(two.stdout)")
        #expect(printed("val_loss", in: launched) == printed("val_loss", in: two), "\(launched.stdout)")
        fixtures.expectNothingLeft(folder)
    }

    /// A NaN in the held-out rows: in the first (row 72), which every rank checks before
    /// training, one line from rank 0 names both ranks and the row; further in (row 90, which
    /// rank 1 scores), one line names rank 1, the epoch and the row. Nothing is saved or left running.
    @Test(.timeLimit(.minutes(3)))
    func aNaNInTheValidationRowsEndsTheJobWithOneLineNamingTheRow() throws {
        for (row, expected) in [(72, "batchwise train: ranks 0, 1 failed: "),
                                (90, "batchwise train: rank 1 failed in epoch 0, step 0: validating (batch 1 of 1 of the validation rows): ")] {
            let folder = try fixtures.folder(nanAtRow: row)
            defer { try? FileManager.default.removeItem(at: folder) }
            let run = try MPIJob.run(["-np", "2", try MPIJob.batchwise()] + trainArguments(folder, save: "out.keras"))
            #expect(run.status != 0 && !run.timedOut, "\(run.stderr)")
            let lines = run.stderr.split(separator: "\n").filter { $0.contains("row \(row)") }
            #expect(lines.count == 1 && lines.first?.hasPrefix(expected) == true, "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.keras").path))
            fixtures.expectNothingLeft(folder)
        }
    }
}
#endif
