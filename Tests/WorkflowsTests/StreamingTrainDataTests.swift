import Datasets
import Foundation
import HDF5
import Tensors
import Testing
import Training
@testable import Checkpoints
import Workflows
import CheckpointsTestSupport

/// `TrainingData` / `batchwise train --data` read through `HDF5RowSource`: several files with
/// one layout train as one, the values are checked while streaming (naming file, path and the
/// row inside that file), and a compressed dataset is block-shuffled by default.
@Suite struct StreamingTrainDataTests {
    /// The target values (= global row numbers) of one epoch of `pipeline`.
    static func rows(_ pipeline: AnyDataset<Trainer.Batch>, epoch: UInt64 = 0) throws -> [Int] {
        var rows: [Int] = []
        try pipeline.forEach(epoch: epoch) { (batch: Trainer.Batch) in rows += batch.1.scalars.map { Int($0) } }
        return rows
    }

    @Test("two files with one layout are one dataset: every row once per shuffled epoch, the split taken from the end")
    func twoFilesTrainAsOne() throws {
        let folder = try NativeFixtures.folder()
        let a = try DataFileFixtures.writeRows(folder, "a.h5", rows: 50, chunkRows: 8)
        let b = try DataFileFixtures.writeRows(folder, "b.h5", rows: 30, first: 50, chunkRows: 8)
        let data = try TrainingData(files: [a, b], x: "/x", y: "/y", sparseTargets: false)
        #expect(data.rows == 80 && data.featureShape == [80, 3] && data.targetShape == [80, 1] && data.isCompressed)
        let (train, validation) = try data.pipelines(batchSize: 7, order: .shuffled, seed: 3, validationSplit: 0.25)
        for epoch: UInt64 in 0..<2 {
            let seen = try Self.rows(train, epoch: epoch)
            #expect(seen.sorted() == Array(0..<60) && seen != Array(0..<60))
        }
        #expect(try Self.rows(train, epoch: 0) != Self.rows(train, epoch: 1))
        #expect(try Self.rows(validation!) == Array(60..<80))
        // The default shuffle of a compressed dataset is the block shuffle, whose state is a few integers.
        var iterator = train.makeIterator(epoch: 0)
        _ = try iterator.next()
        let state = try iterator.state.encoded()
        #expect(String(decoding: state, as: UTF8.self).contains("blockShuffle.windowBlocks"))
        var resumed = try train.makeIterator(resumingFrom: IteratorState(encoded: state))
        var straight = train.makeIterator(epoch: 0)
        _ = try straight.next()
        while let expected = try straight.next() {
            #expect(try resumed.next()?.1.scalars == expected.1.scalars)
        }
    }

    @Test func aNaNInTheSecondFileIsNamedWithThatFileAndItsRow() throws {
        let folder = try DataFileFixtures.folder()
        let a = try DataFileFixtures.writeRows(folder, "a.h5", rows: 8)
        let b = try DataFileFixtures.writeRows(folder, "b.h5", rows: 8, first: 8, nanAt: 5)
        var job = TrainJob(data: a, output: folder.appendingPathComponent("out.h5"))
        job.moreData = [b]
        job.model = folder.appendingPathComponent("m.keras")
        job.loss = .meanSquaredError
        job.optimizer = .sgd
        job.batchSize = 4
        let error = #expect(throws: WorkflowError.self) { try job.run(progress: .quiet) }
        guard case let .invalidData(file, path, row, column, message) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == b.path && path == "/x" && row == 5 && column == 1 && message.contains("not finite"), "\(message)")
    }

    @Test func filesWithDifferentLayoutsOrRowCountsAreRefusedNamingTheFile() throws {
        let folder = try NativeFixtures.folder()
        let a = try DataFileFixtures.writeRows(folder, "a.h5", rows: 8)
        let gzip = try DataFileFixtures.writeRows(folder, "gzip.h5", rows: 8, chunkRows: 4)
        let short = folder.appendingPathComponent("short.h5")
        try HDF5File.atomicWrite(to: short) { file in
            try file.write([Float](repeating: 0, count: 24), shape: [8, 3], to: "/x")
            try file.write([Double](repeating: 0, count: 7), shape: [7], to: "/y")
        }
        for (other, path, expected) in [(gzip, "/x", "contiguous storage"), (short, "/y", "rows")] {
            let error = #expect(throws: WorkflowError.self) {
                try TrainingData(files: [a, other], x: "/x", y: "/y", sparseTargets: false)
            }
            guard case let .invalidData(file, failedPath, _, _, message) = error else {
                Issue.record("got \(String(describing: error))"); continue
            }
            #expect(file == other.path && failedPath == path && message.contains(expected), "\(message)")
        }
        let missing = folder.appendingPathComponent("missing.h5")
        let error = #expect(throws: WorkflowError.self) { try TrainingData(files: [a, missing], x: "/x", y: "/y", sparseTargets: false) }
        guard case let .unreadableData(file, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == missing.path)
    }

    @Test("predict reads its input a batch at a time: the same outputs, and a NaN in a later batch named by its row")
    func predictStreamsItsInput() throws {
        let folder = try DataFileFixtures.folder()
        let model = try KerasModelFile.load(folder.appendingPathComponent("m.keras")).model
        let data = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0])
        let output = DatasetLocation(file: folder.appendingPathComponent("p.h5"), path: "/p")
        let streamed = try ModelPrediction.run(model: folder.appendingPathComponent("m.keras"),
                                               input: DatasetLocation(file: data, path: "/x"), output: output, batchSize: 3)
        let whole = try ModelPrediction.predict(model, try Tensor(shape: [8, 3], scalars: DataFileFixtures.goodX.map { Float($0) }),
                                                mode: .inference, batchSize: 3)
        #expect(streamed.shape == [8, 1] && streamed.scalars == whole.scalars)
        var x = DataFileFixtures.goodX
        x[5 * 3 + 2] = .nan
        let bad = try DataFileFixtures.writeData(folder, x: x, xShape: [8, 3], y: [0])
        let error = #expect(throws: WorkflowError.self) {
            try ModelPrediction.run(model: folder.appendingPathComponent("m.keras"), input: DatasetLocation(file: bad, path: "/x"),
                                    output: DatasetLocation(file: folder.appendingPathComponent("q.h5"), path: "/p"), batchSize: 3)
        }
        guard case let .invalidData(file, path, row, column, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == bad.path && path == "/x" && row == 5 && column == 2)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("q.h5").path))
    }
}
