import Datasets
import Foundation
import Tensors
import Testing
import Training
import Workflows
import CheckpointsTestSupport

/// `TrainingData.trainingRows()` and `trainingRows(validationSplit:)` (what `batchwise train`
/// under mpirun hands the data-parallel trainer) and `TrainJob.prepared()`: rows by index across
/// files, values checked on read, the same global orders and validation split as the streaming
/// pipeline, and the settings such a trainer cannot honour refused.
@Suite struct TrainingRowsTests {
    @Test func rowsReadByIndexAcrossFilesMatchTheFilesAndAreChecked() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = try DataFileFixtures.writeRows(folder, "a.h5", rows: 20, chunkRows: 8)
        let b = try DataFileFixtures.writeRows(folder, "b.h5", rows: 12, first: 20, chunkRows: 8, nanAt: 5)
        let rows = try TrainingData(files: [a, b], x: "/x", y: "/y", sparseTargets: false).trainingRows()
        #expect(rows.count == 32)
        let (x, y) = try rows.element(at: 7)
        #expect(x.shape == [3] && x.scalars == [7, 0.5, -1] && y.shape == [1] && y.scalars == [7])
        let stacked = try #require(try rows.stackedElements(at: [3, 21, 0], epoch: 0))
        #expect(stacked.0.shape == [3, 3] && stacked.1.scalars == [3, 21, 0])
        // Row 5 of b.h5 (global row 25) holds a NaN: the read names that file and row.
        #expect(throws: WorkflowError.self) { try rows.stackedElements(at: [24, 25], epoch: 0) }
        do { _ = try rows.element(at: 25) } catch let error as WorkflowError {
            #expect(error.localizedDescription.contains("b.h5") && error.localizedDescription.contains("row 5"), "\(error)")
        }
        #expect(throws: DatasetError.self) { try rows.element(at: 32) }
    }

    @Test func aGlobalShuffleOfTheRowsIsThePipelinesOrder() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for chunkRows in [nil, 8] as [Int?] {
            let file = try DataFileFixtures.writeRows(folder, "d\(chunkRows ?? 0).h5", rows: 40, chunkRows: chunkRows)
            let data = try TrainingData(files: [file], x: "/x", y: "/y", sparseTargets: false)
            let pipeline = try data.pipelines(batchSize: 40, order: .shuffled, seed: 9, validationSplit: 0).train
            let shuffled = data.trainingRows().globalShuffle(seed: 9)
            for epoch: UInt64 in 0..<2 {
                var streamed: [Int] = []
                try pipeline.forEach(epoch: epoch) { (batch: Trainer.Batch) in streamed += batch.1.scalars.map { Int($0) } }
                let indexed = try (0..<40).map { Int(try shuffled.element(at: $0, epoch: epoch).1.scalars[0]) }
                #expect(indexed == streamed && indexed != Array(0..<40), "compressed: \(chunkRows != nil), epoch \(epoch)")
            }
        }
    }

    @Test func preparedRefusesSettingsADataParallelTrainerCannotHonour() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try DataFileFixtures.writeRows(folder, "d.h5", rows: 16)
        var job = TrainJob(data: file, output: folder.appendingPathComponent("out.keras"))
        job.layers = try LayerSpec.parse("dense:1")
        job.inputFeatures = 3
        job.loss = .meanSquaredError
        job.optimizer = .sgd
        let prepared = try job.prepared()
        #expect(prepared.rows.count == 16 && prepared.shuffleSeed == 0 && prepared.snapshot == nil)
        job.shuffleBuffer = 4
        #expect(throws: WorkflowError.invalidSetting(file: nil, setting: .shuffleBuffer, problem:
            "data-parallel training shuffles all rows or none; a buffered shuffle of 4 rows is not supported")) { try job.prepared() }
        job.shuffleBuffer = 0
        #expect(try job.prepared().shuffleSeed == nil)
        job.validationSplit = 1
        #expect(throws: WorkflowError.invalidSetting(file: nil, setting: .validationSplit, problem:
            "validation split must be in [0, 1), got 1.0")) { try job.checkDataParallelSettings() }
        // Held out as a single-process run holds them out: the last 4 of 16 rows validate.
        job.validationSplit = 0.25
        let split = try job.prepared()
        let validation = try #require(split.validationRows)
        #expect(split.rows.count == 12 && validation.count == 4 && validation.firstRow == 12)
        #expect(try validation.element(at: 0).1.scalars == [12] && validation.stackedElements(at: [3, 1], epoch: 0)?.1.scalars == [15, 13])
        #expect(throws: DatasetError.self) { try validation.element(at: 4) }
    }

    /// `trainingRows(validationSplit:)` splits as the streaming pipelines split: the training
    /// side's global shuffle (a permutation, or the block shuffle of compressed features) is the
    /// training pipeline's order, and the validation side holds the validation pipeline's rows in order.
    @Test func aSplitOfTheRowsIsThePipelinesSplit() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for chunkRows in [nil, 8] as [Int?] {
            let file = try DataFileFixtures.writeRows(folder, "d\(chunkRows ?? 0).h5", rows: 40, chunkRows: chunkRows)
            let data = try TrainingData(files: [file], x: "/x", y: "/y", sparseTargets: false)
            let pipelines = try data.pipelines(batchSize: 40, order: .shuffled, seed: 9, validationSplit: 0.3)
            let (train, held) = try data.trainingRows(validationSplit: 0.3)
            let validation = try #require(held)
            #expect(train.count == 28 && validation.count == 12)
            let shuffled = train.globalShuffle(seed: 9)
            for epoch: UInt64 in 0..<2 {
                var streamed: [Int] = []
                try pipelines.train.forEach(epoch: epoch) { (batch: Trainer.Batch) in streamed += batch.1.scalars.map { Int($0) } }
                let indexed = try (0..<28).map { Int(try shuffled.element(at: $0, epoch: epoch).1.scalars[0]) }
                #expect(indexed == streamed && indexed != Array(0..<28), "compressed: \(chunkRows != nil), epoch \(epoch)")
            }
            var streamed: [Float] = []
            try #require(pipelines.validation).forEach { (batch: Trainer.Batch) in streamed += batch.1.scalars }
            #expect(try (0..<12).map { try validation.element(at: $0).1.scalars[0] } == streamed && streamed.first == 28)
        }
    }
}
