import Foundation
import HDF5
import Testing
import Tensors
@testable import Datasets

/// Images (rank-3 NHWC elements) go through files and pipelines with their shape: HDF5
/// datasets of rank 4 read back as rank-4 tensors and batching stacks [H, W, C] elements into
/// [batch, H, W, C].
@Suite struct ImageBatchTests {
    /// Image i has pixel (h, w, c) = i·1000 + h·100 + w·10 + c, so every scalar says where it belongs.
    static func images(_ count: Int, height: Int = 3, width: Int = 4, channels: Int = 2) -> Tensor<Float> {
        var scalars: [Float] = []
        for i in 0..<count { for h in 0..<height { for w in 0..<width { for c in 0..<channels {
            scalars.append(Float(i * 1000 + h * 100 + w * 10 + c))
        } } } }
        return try! Tensor(shape: [count, height, width, channels], scalars: scalars)
    }

    func temporaryURL(_ label: String) -> URL {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("batchwise-\(label)-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).h5")
    }

    @Test func rankFourDatasetsRoundTripThroughHDF5WithTheirShape() throws {
        let url = temporaryURL("images")
        defer { try? FileManager.default.removeItem(at: url) }
        let x = Self.images(5)
        let file = try HDF5File.create(at: url)
        try file.write(x.scalars, shape: x.shape, to: "x")
        try file.write([Float](repeating: 1, count: 2 * 3 * 4 * 5 * 6), shape: [2, 3, 4, 5, 6], to: "rank5")
        try file.close()
        let reopened = try HDF5File.open(at: url)
        let back = try Tensor(reopened.read("x", as: Float.self))
        #expect(back == x)
        #expect(try Tensor(reopened.read("rank5", as: Float.self)).shape == [2, 3, 4, 5, 6])
        try reopened.close()
        // Streaming rows of the file yields [H, W, C] elements, and batching stacks them.
        let rows = try HDF5Rows(file: url, path: "/x", as: Float.self)
        let batches = try rows.batch(2).collect()
        #expect(batches.map(\.shape) == [[2, 3, 4, 2], [2, 3, 4, 2], [1, 3, 4, 2]])
        #expect(batches[2] == (try x.rows(4..<5)))
    }

    @Test func batchingStacksImagesIntoNHWCBatches() throws {
        let x = Self.images(7), y = Tensor<Float>((0..<7).map(Float.init))
        let batches = try Slices(x, y).batch(3).collect()
        #expect(batches.map(\.0.shape) == [[3, 3, 4, 2], [3, 3, 4, 2], [1, 3, 4, 2]])
        #expect(batches[1].0 == (try x.rows(3..<6)))
        #expect(batches[1].1.scalars == [3, 4, 5])
        // The shuffled path gathers rows by index straight into the batch: every image stays whole
        // and its label stays with it.
        let shuffled = try Slices(x, y).shuffle(bufferSize: 7, seed: 3).batch(4).collect()
        #expect(shuffled.map(\.0.shape) == [[4, 3, 4, 2], [3, 3, 4, 2]])
        for (images, labels) in shuffled {
            for k in 0..<labels.scalarCount {
                #expect(images.row(k) == x.row(Int(labels.scalars[k])))
            }
        }
    }

    @Test func imagesOfDifferentShapesAreRefusedNamingTheElement() {
        let elements = [Self.images(1).row(0), Self.images(1).row(0), Self.images(1, height: 2).row(0)]
        do {
            _ = try SequenceDataset(elements).batch(3).collect()
            Issue.record("a [2, 4, 2] image was stacked with [3, 4, 2] ones")
        } catch let DatasetError.shapeMismatch(stage, index, expected, found) {
            #expect(stage == "batch" && index == 2 && expected == [3, 4, 2] && found == [2, 4, 2])
        } catch { Issue.record("unexpected \(error)") }
    }
}
