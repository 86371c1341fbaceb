import Foundation
import Testing
@testable import Datasets
import Tensors

/// `fixtures/golden/seeded-orders.json`, written by `fixtures/golden/make_golden.py`: a plain
/// Python reimplementation of SplitMix64, the seed derivation and the documented shuffle,
/// repeat, batch and shard semantics. The orders here are what users were promised ("the same
/// order on every run and machine"); a change to any of them must come with a regenerated
/// fixture and a CHANGELOG entry (docs/TESTING.md).
struct GoldenOrders: Decodable {
    struct Pipeline: Decodable {
        let name: String
        let epoch: UInt64
        let complete: Bool
        /// Which batches of the pipeline `batches` holds; all of them from 0 when absent.
        let batchNumbers: [Int]?
        let batches: [[Int]]

        /// `batches` keyed by batch number.
        var expected: [Int: [Int]] {
            Dictionary(uniqueKeysWithValues: zip(batchNumbers ?? Array(batches.indices), batches).map { ($0, $1) })
        }

        /// How many batches to pull to reach the last pinned one.
        var batchesToPull: Int { (batchNumbers?.max() ?? batches.count - 1) + 1 }
    }

    let pipelines: [Pipeline]

    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/golden/seeded-orders.json")

    static func load() throws -> GoldenOrders {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(GoldenOrders.self, from: Data(contentsOf: url))
    }

    static func pipeline(_ name: String) throws -> Pipeline {
        try #require(try load().pipelines.first { $0.name == name }, "no pipeline \(name) in \(url.path)")
    }
}

@Suite("Seeded orders equal the golden fixture made by an independent Python implementation")
struct GoldenOrderTests {
    /// Row `i` of the source holds the value `i` in both tensors, so a batch's rows are its indices.
    private static func indexSlices(_ rows: Int) throws -> Slices<(Tensor<Double>, Tensor<Double>)> {
        let values = (0..<rows).map(Double.init)
        return try Slices(try Tensor(shape: [rows, 1], scalars: values), try Tensor(shape: [rows], scalars: values))
    }

    private static func rows(_ batch: (Tensor<Double>, Tensor<Double>)) -> [Int] {
        #expect(batch.0.scalars == batch.1.scalars, "features and labels must stay paired")
        return batch.0.scalars.map { Int($0) }
    }

    /// Pulls `golden.batchesToPull` batches and compares every pinned one (and, for a complete
    /// pipeline, that nothing follows).
    private func expectGolden<I: DatasetIterator>(_ golden: GoldenOrders.Pipeline, _ label: String,
                                                  _ iterator: inout I, rows: (I.Element) -> [Int]) throws {
        let expected = golden.expected
        for number in 0..<golden.batchesToPull {
            let batch = try #require(try iterator.next(), "\(label): ended before batch \(number)")
            if let want = expected[number] {
                #expect(rows(batch) == want, "\(label): batch \(number)")
            }
        }
        if golden.complete {
            #expect(try iterator.next() == nil, "\(label): more batches than the golden order")
        }
    }

    @Test("Examples/SeedPipeline: shuffle(100, seed 18) → repeat → batch(32) → prefetch(2), gathered and element by element")
    func seedPipelineExample() throws {
        let golden = try GoldenOrders.pipeline("seed_pipeline_example")
        var gathered = try Self.indexSlices(100).shuffle(bufferSize: 100, seed: 18).repeat().batch(32).prefetch(2)
            .makeIterator(epoch: golden.epoch)
        try expectGolden(golden, "Slices gather path", &gathered, rows: Self.rows)
        var elementwise = RangeDataset(0..<100).shuffle(bufferSize: 100, seed: 18).repeat().batch(32)
            .makeIterator(epoch: golden.epoch)
        try expectGolden(golden, "RangeDataset element path", &elementwise) { $0 }
    }

    @Test("the seed experiment's pipeline: shuffle(10,000, seed 18) → repeat → batch(32) → map → prefetch(2)")
    func seedExperimentPipeline() throws {
        let golden = try GoldenOrders.pipeline("seed_experiment")
        // The same stages as SeedExperiment.run, with the row index as the data.
        var iterator = try Self.indexSlices(10_000).shuffle(bufferSize: 10_000, seed: 18).repeat().batch(32)
            .map { (Tensor<Float>(converting: $0.0), Tensor<Float>(converting: $0.1)) }.prefetch(2)
            .makeIterator(epoch: golden.epoch)
        try expectGolden(golden, "seed experiment", &iterator) { batch in
            #expect(batch.0.scalars == batch.1.scalars)
            return batch.0.scalars.map { Int($0) }
        }
    }

    @Test("shuffle with a smaller buffer → repeat(3) → batch(4) → shard(3, 1)")
    func shuffleRepeatBatchShard() throws {
        let golden = try GoldenOrders.pipeline("shuffle_repeat_batch_shard")
        var iterator = RangeDataset(0..<50).shuffle(bufferSize: 8, seed: 7).repeat(3).batch(4)
            .shard(count: 3, index: 1).makeIterator(epoch: golden.epoch)
        try expectGolden(golden, golden.name, &iterator) { $0 }
    }

    @Test("shard(4, 2) → shuffle → repeat(2) → batch(3) iterated as epoch 5 (derived pass epochs)")
    func shardShuffleRepeatBatchInALaterEpoch() throws {
        let golden = try GoldenOrders.pipeline("shard_shuffle_repeat_batch_epoch5")
        #expect(golden.epoch == 5)
        var iterator = RangeDataset(0..<40).shard(count: 4, index: 2).shuffle(bufferSize: 10, seed: 2026).repeat(2)
            .batch(3).makeIterator(epoch: golden.epoch)
        try expectGolden(golden, golden.name, &iterator) { $0 }
    }

    @Test("reshuffleEachIteration: false repeats epoch 0's order")
    func noReshuffle() throws {
        let golden = try GoldenOrders.pipeline("no_reshuffle")
        var iterator = RangeDataset(0..<10).shuffle(bufferSize: 10, seed: 42, reshuffleEachIteration: false)
            .repeat(2).batch(4).makeIterator(epoch: golden.epoch)
        try expectGolden(golden, golden.name, &iterator) { $0 }
    }

    @Test("the fixture covers every pipeline this suite checks, and each pinned batch is a real batch")
    func fixtureIsWellFormed() throws {
        let golden = try GoldenOrders.load()
        #expect(Set(golden.pipelines.map(\.name)) == ["seed_pipeline_example", "seed_experiment",
                                                      "shuffle_repeat_batch_shard", "shard_shuffle_repeat_batch_epoch5",
                                                      "no_reshuffle"])
        for pipeline in golden.pipelines {
            #expect(!pipeline.batches.isEmpty && pipeline.batches.allSatisfy { !$0.isEmpty }, "\(pipeline.name)")
        }
    }
}
