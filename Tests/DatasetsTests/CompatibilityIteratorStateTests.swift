import Foundation
import Testing
@testable import Datasets
import Tensors

/// Iterator states written by Batchwise 0.1.0 (main of 2026-12-06) and committed under
/// `fixtures/compat/v1/`: every later version must restore them and continue with the golden
/// order of `fixtures/golden/seeded-orders.json` (computed in Python, not by this code).
///
/// `BATCHWISE_REGENERATE_COMPAT=1 swift test --filter CompatibilityIteratorStateTests` rewrites
/// the files instead; do that only for a deliberate, CHANGELOG-documented format change
/// (docs/TESTING.md).
@Suite("Iterator states from an older Batchwise restore and continue with the golden order")
struct CompatibilityIteratorStateTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/compat/v1")

    static var regenerating: Bool { ProcessInfo.processInfo.environment["BATCHWISE_REGENERATE_COMPAT"] == "1" }

    /// The seed pipeline of Examples/SeedPipeline over row indices (gathered by the batch fast
    /// path), with or without its `prefetch(2)`: a prefetch state is a count of batches to
    /// replay, the state below it holds the shuffle buffer.
    private static func seedPipeline(prefetching: Bool) throws -> AnyDataset<(Tensor<Double>, Tensor<Double>)> {
        let values = (0..<100).map(Double.init)
        let batches = try Slices(try Tensor(shape: [100, 1], scalars: values), try Tensor(shape: [100], scalars: values))
            .shuffle(bufferSize: 100, seed: 18).repeat().batch(32)
        return prefetching ? batches.prefetch(2).eraseToAnyDataset() : batches.eraseToAnyDataset()
    }

    /// A buffer smaller than the data (the state holds buffered ordinals and a replay snapshot).
    private static func shardedPipeline() -> AnyDataset<[Int]> {
        RangeDataset(0..<50).shuffle(bufferSize: 8, seed: 7).repeat(3).batch(4).shard(count: 3, index: 1).eraseToAnyDataset()
    }

    /// In regenerate mode writes the state after `consumed` batches to `file`; otherwise reads it.
    private static func state<I: DatasetIterator>(_ file: String, consumed: Int, of fresh: () throws -> I) throws -> IteratorState {
        let url = directory.appendingPathComponent(file)
        if regenerating {
            var iterator = try fresh()
            for _ in 0..<consumed { _ = try iterator.next() }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try iterator.state.encoded().write(to: url, options: .atomic)
        }
        return try IteratorState(encoded: Data(contentsOf: url))
    }

    @Test("the seed pipeline's state after 6 batches resumes with golden batches 6-9", arguments: [true, false])
    func seedPipelineState(prefetching: Bool) throws {
        let pipeline = try Self.seedPipeline(prefetching: prefetching)
        let file = prefetching ? "seed-pipeline-after-6-batches.iterator-state.json"
            : "seed-pipeline-without-prefetch-after-6-batches.iterator-state.json"
        let state = try Self.state(file, consumed: 6) { pipeline.makeIterator() }
        #expect(state.kind == (prefetching ? "prefetch" : "batch"))
        var resumed = try pipeline.makeIterator(resumingFrom: state)
        let golden = try GoldenOrders.pipeline("seed_pipeline_example")
        for number in 6..<10 {
            let batch = try #require(try resumed.next())
            #expect(batch.0.scalars.map { Int($0) } == golden.batches[number], "batch \(number)")
            #expect(batch.0.scalars == batch.1.scalars)
        }
    }

    @Test("a sharded pipeline's state mid-buffer resumes with the rest of the golden order")
    func shardedPipelineState() throws {
        let pipeline = Self.shardedPipeline()
        let state = try Self.state("shuffle-repeat-batch-shard-after-3-batches.iterator-state.json", consumed: 3) {
            pipeline.makeIterator()
        }
        var resumed = try pipeline.makeIterator(resumingFrom: state)
        var rest: [[Int]] = []
        while let batch = try resumed.next() { rest.append(batch) }
        let golden = try GoldenOrders.pipeline("shuffle_repeat_batch_shard")
        #expect(rest == Array(golden.batches.dropFirst(3)))
    }
}
