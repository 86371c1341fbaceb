import Foundation
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import Workflows
import CheckpointsTestSupport

/// `batchwise predict --recalibrate-on` streams its rows through the HDF5 row source, as
/// `--input` does, instead of reading the dataset whole.
@Suite struct StreamedRecalibrationTests {
    @Test("recalibration data larger than memory is streamed: a NaN in row 2 is found without reading the rest")
    func recalibrationDataLargerThanMemoryStreams() throws {
        let folder = try DataFileFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = try DataFileFixtures.writeData(folder, x: DataFileFixtures.goodX, xShape: [8, 3], y: [0])
        // 2^32 rows of 3 float32 (48 GiB, more than this machine's memory), stored in chunks of
        // which only the first is written: the file is small, a whole read is refused.
        let huge = folder.appendingPathComponent("huge.h5")
        let file = try HDF5File.create(at: huge)
        let dataset = try file.createDataset("x", of: Float.self, shape: [1 << 32, 3],
                                             options: .compressed(level: 1, chunkShape: [1 << 14, 3]))
        var rows = [Float](repeating: 0.5, count: 8 * 3)
        rows[2 * 3 + 1] = .nan
        try dataset.writeRows(rows, startingAt: 0)
        try file.close()
        let error = #expect(throws: WorkflowError.self) {
            try ModelPrediction.run(model: folder.appendingPathComponent("m.keras"), input: DatasetLocation(file: input, path: "/x"),
                                    output: DatasetLocation(file: folder.appendingPathComponent("p.h5"), path: "/p"),
                                    batchSize: 16, recalibrateOn: DatasetLocation(file: huge, path: "/x"))
        }
        guard case let .invalidData(file, path, row, column, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == huge.path && path == "/x" && row == 2 && column == 1)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("p.h5").path))
    }

    @Test("streamed in batches, recalibration gives the statistics of all rows, as in memory")
    func streamedRecalibrationMatchesInMemory() throws {
        let folder = try DataFileFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var rng = SplitMix64(seed: 12)
        let values = (0..<(50 * 3)).map { _ in Float(rng.nextUniform() * 4 - 1) }
        let data = try DataFileFixtures.writeData(folder, x: values.map(Double.init), xShape: [50, 3], y: [0])
        let modelURL = folder.appendingPathComponent("m.keras")
        let location = DatasetLocation(file: data, path: "/x")
        let output = DatasetLocation(file: folder.appendingPathComponent("p.h5"), path: "/p")
        let streamed = try ModelPrediction.run(model: modelURL, input: location, output: output, batchSize: 7,
                                               recalibrateOn: location)
        let model = try ModelFiles.loadModel(modelURL)
        let x = try Tensor(shape: [50, 3], scalars: values)
        let expected = try model.recalibratingBatchNormalization(on: x)(x, mode: .inference)
        let difference = zip(streamed.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(difference <= 1e-5, "largest difference \(difference)")
    }
}
