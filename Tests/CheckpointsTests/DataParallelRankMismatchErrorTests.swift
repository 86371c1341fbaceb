import Foundation
import Testing
import CheckpointsTestSupport

#if os(Linux)
/// Ranks of one `mpirun` job given different inputs (mpirun's MPMD form, `-np 1 A : -np 1 B`,
/// gives each rank its own command line): a data file with another row count or feature count,
/// another model, other trainer settings. The job fails with one line that names the rank at
/// fault and what it has (its file and shape, or each rank's value), exits non-zero, writes no
/// model and leaves no process behind; it neither hangs in a collective of mismatched lengths
/// nor prints one line per rank.
@Suite(.serialized) struct DataParallelRankMismatchErrorTests {
    /// `train` arguments reading `data` (a file in `folder`), with `extra` appended.
    private func arguments(_ folder: URL, data: String = "d.h5", layers: String = "dense:8:relu,dense:3:softmax",
                           extra: [String] = []) -> [String] {
        ["train", "--layers", layers, "--inputs", "4", "--data", folder.appendingPathComponent(data).path,
         "--loss", "sparse_categorical_crossentropy", "--optimizer", "adam", "--seed", "3", "--batch-size", "32", "--epochs", "1",
         "--save", folder.appendingPathComponent("out.keras").path] + extra
    }

    private func writeData(_ folder: URL, _ name: String, rows: Int, features: Int = 4) throws {
        try DataParallelTestData.write(to: folder.appendingPathComponent(name), rows: rows, features: features)
    }

    /// Rank 0 runs `first`, rank 1 `second`, under mpirun.
    private func mpmd(_ first: [String], _ second: [String]) throws -> ChildProcess {
        let batchwise = try MPIJob.batchwise()
        return try MPIJob.run(["-np", "1", batchwise] + first + [":", "-np", "1", batchwise] + second)
    }

    /// The job failed with exactly one `batchwise train:` line, `expected`; nothing was saved
    /// and no process of the run is left.
    private func expectOneLine(_ run: ChildProcess, _ expected: String, folder: URL,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(run.status != 0 && !run.timedOut && run.signal == nil, "status \(run.status): \(run.stderr)", sourceLocation: sourceLocation)
        let lines = run.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("batchwise train: ") }
        #expect(lines == [expected], "\(run.stderr)", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.keras").path), sourceLocation: sourceLocation)
        let left = ProcessLifetimeTests.livingProcesses(mentioning: folder.path)
        #expect(left.isEmpty, "processes outlived the run: \(left)", sourceLocation: sourceLocation)
    }

    @Test(.timeLimit(.minutes(3)))
    func aRankWhoseDataHasOtherRowsIsNamedWithEachRanksCount() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeData(folder, "d.h5", rows: 64)
        try writeData(folder, "longer.h5", rows: 65)
        let run = try mpmd(arguments(folder), arguments(folder, data: "longer.h5"))
        expectOneLine(run, "batchwise train: ranks 0, 1 failed: data-parallel step: the ranks disagree on rows in the dataset "
                      + "(rank 0: 64; rank 1: 65)", folder: folder)
    }

    @Test(.timeLimit(.minutes(3)))
    func aRankWhoseDataHasOtherFeaturesNamesItsFileAndShape() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeData(folder, "d.h5", rows: 64)
        try writeData(folder, "wide.h5", rows: 64, features: 5)
        let run = try mpmd(arguments(folder), arguments(folder, data: "wide.h5"))
        let wide = folder.appendingPathComponent("wide.h5").path
        expectOneLine(run, "batchwise train: rank 1 failed: \(wide): /x: features have shape [64, 5]; the model takes [rows, 4]",
                      folder: folder)
    }

    /// Another hidden width on rank 1: the ranks would reduce vectors of different lengths.
    @Test(.timeLimit(.minutes(3)))
    func ranksWithDifferentModelsAreNamedWithTheirVectorLengths() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeData(folder, "d.h5", rows: 64)
        let run = try mpmd(arguments(folder), arguments(folder, layers: "dense:9:relu,dense:3:softmax"))
        // Dense(8) + Dense(3): 4·8 + 8 + 8·3 + 3 = 67 gradients and the loss; Dense(9): 36 + 9 + 27 + 3 = 75 and the loss.
        expectOneLine(run, "batchwise train: ranks 0, 1 failed: data-parallel step: the ranks disagree on values reduced per row "
                      + "(rank 0: 68; rank 1: 76)", folder: folder)
    }

    /// The same model but another `--reduction` or `--micro-shards` on rank 1: the vectors have
    /// one length, so only the settings' fingerprint tells them apart.
    @Test(.timeLimit(.minutes(3)), arguments: [["--reduction", "fast"], ["--micro-shards", "4"]])
    func ranksWithDifferentTrainerSettingsAreNamed(setting: [String]) throws {
        let folder = try NativeFixtures.folder("ranksWithDifferentTrainerSettingsAreNamed\(setting[1])")
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeData(folder, "d.h5", rows: 64)
        let run = try mpmd(arguments(folder), arguments(folder, extra: setting))
        expectOneLine(run, "batchwise train: ranks 0, 1 failed: data-parallel step: the ranks disagree on model and trainer settings "
                      + "(rank 0 | rank 1 hold different models or settings)", folder: folder)
    }
}
#endif
