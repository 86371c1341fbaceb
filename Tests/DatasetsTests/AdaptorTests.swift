import Foundation
import Testing
@testable import Datasets
import Tensors

@Suite struct AdaptorTests {
    @Test func takeAndSkipFollowTfDataIncludingMinusOne() throws {
        #expect(try RangeDataset(0..<10).take(3).collect() == [0, 1, 2])
        #expect(try RangeDataset(0..<10).take(-1).collect() == Array(0..<10))
        #expect(try RangeDataset(0..<10).take(20).collect() == Array(0..<10))
        #expect(try RangeDataset(0..<10).skip(7).collect() == [7, 8, 9])
        #expect(try RangeDataset(0..<10).skip(-1).collect() == [])
        #expect(RangeDataset(0..<10).take(20).cardinality == .finite(10))
        #expect(RangeDataset(0..<10).skip(-1).cardinality == .finite(0))
    }

    @Test func takeAndSkipOnInfiniteDatasetsAreLazy() throws {
        let pulled = PullCounter()
        let infinite = RangeDataset(0..<4).repeat().map { v -> Int in pulled.increment(); return v }
        #expect(infinite.take(6).cardinality == .finite(6))
        #expect(try infinite.take(6).collect() == [0, 1, 2, 3, 0, 1])
        #expect(pulled.count == 6)
        #expect(infinite.skip(5).cardinality == .infinite)
        #expect(try infinite.skip(5).collect(limit: 3) == [1, 2, 3])
    }

    @Test func shardPartitionsTheIndices() throws {
        #expect(try RangeDataset(0..<10).shard(count: 3, index: 1).collect() == [1, 4, 7])
        var all: [Int] = []
        for i in 0..<3 {
            let shard = RangeDataset(0..<10).shard(count: 3, index: i)
            let elements = try shard.collect()
            #expect(shard.cardinality == .finite(elements.count))
            all += elements
        }
        #expect(all.sorted() == Array(0..<10))
        #expect(throws: DatasetError.self) { try RangeDataset(0..<10).shard(count: 3, index: 3).collect() }
    }

    @Test func zipConcatenateEnumerate() throws {
        let zipped = try RangeDataset(0..<3).zip(RangeDataset(10..<20)).collect()
        #expect(zipped.map { $0.0 } == [0, 1, 2] && zipped.map { $0.1 } == [10, 11, 12])
        #expect(RangeDataset(0..<3).zip(RangeDataset(0..<2).repeat()).cardinality == .finite(3))
        #expect(try RangeDataset(0..<2).concatenate(RangeDataset(5..<7)).collect() == [0, 1, 5, 6])
        #expect(try RangeDataset(5..<8).enumerate().collect().map { $0.0 } == [0, 1, 2])
    }

    @Test func everySmallAdaptorResumes() throws {
        try expectResumesExactly(RangeDataset(0..<10).take(6), total: 6, cuts: [0, 3, 6])
        try expectResumesExactly(RangeDataset(0..<10).skip(4), total: 6, cuts: [0, 2])
        try expectResumesExactly(RangeDataset(0..<10).shard(count: 3, index: 2), total: 3, cuts: [1])
        try expectResumesExactly(RangeDataset(0..<3).concatenate(RangeDataset(7..<9)), total: 5, cuts: [2, 3, 4])
        try expectResumesExactly(RangeDataset(0..<4).zip(RangeDataset(9..<20)), total: 4, cuts: [2],
                                 key: { [$0.0, $0.1] })
        try expectResumesExactly(RangeDataset(0..<4).enumerate(), total: 4, cuts: [3], key: { [$0.0, $0.1] })
    }
}

@Suite struct PrefetchTests {
    @Test func prefetchKeepsValuesAndOrder() throws {
        let plain = try RangeDataset(0..<2_000).shuffle(bufferSize: 100, seed: 9).batch(7).collect()
        let fetched = try RangeDataset(0..<2_000).shuffle(bufferSize: 100, seed: 9).batch(7).prefetch(2).collect()
        #expect(plain == fetched)
    }

    @Test func producerErrorArrivesAfterTheElementsBeforeIt() throws {
        let failing = GeneratorDataset(name: "flaky") { i -> Int? in
            if i == 5 { throw Boom(at: i) }
            return i
        }
        var it = failing.prefetch(3).makeIterator()
        #expect(try pull(&it, 5) == [0, 1, 2, 3, 4])
        do {
            _ = try it.next()
            Issue.record("expected the producer's error")
        } catch let DatasetError.functionFailed(stage, index, _) {
            #expect(stage == "flaky" && index == 5)
        }
    }

    @Test func droppingTheIteratorStopsTheProducerAndMemoryStaysBounded() throws {
        let pulled = PullCounter()
        let source = RangeDataset(0..<1_000_000).repeat().map { v -> Int in pulled.increment(); return v }
        let workers = PipelineWorkers()
        try workers.counting { () throws in
            var it = source.prefetch(4).makeIterator()
            #expect(try pull(&it, 10) == Array(0..<10))
        }
        #expect(workers.started == 1)
        #expect(workers.waitUntilAllEnded(timeout: 30), "the producer outlived its iterator")
        // With the producer gone the count is final: it ran at most the buffer (+ the element
        // in hand) ahead of the 10 delivered.
        #expect(pulled.count <= 10 + 4 + 1, "pulled \(pulled.count)")
    }

    @Test func prefetchStateDescribesDeliveredElementsNotLookahead() throws {
        let pipeline = try ResumeTests.seedPipelineData(100).shuffle(bufferSize: 100, seed: 18).repeat().batch(8)
            .prefetch(2, stateInterval: 5)
        try expectResumesExactly(pipeline, total: 40, cuts: [0, 1, 4, 5, 6, 13, 26], key: pairKey)
        try expectResumesExactly(RangeDataset(0..<30).prefetch(3, stateInterval: 4), total: 30,
                                 cuts: [0, 2, 9, 30])
    }
}

@Suite struct CacheAndAsyncTests {
    @Test func cacheStoresOnlyACompleteFirstPass() throws {
        let calls = PullCounter()
        let cached = RangeDataset(0..<4).map { v -> Int in calls.increment(); return v }.cache()
        #expect(try cached.repeat(2).collect() == [0, 1, 2, 3, 0, 1, 2, 3])
        #expect(calls.count == 4)          // tf.data: 4 calls over 2 epochs, 8 without cache

        let partialCalls = PullCounter()
        let partial = RangeDataset(0..<4).map { v -> Int in partialCalls.increment(); return v }.cache()
        _ = try partial.take(2).collect()
        _ = try partial.collect()
        #expect(partialCalls.count == 6)   // tf.data: the partial pass is not cached
    }

    @Test func shuffleAfterCacheStillReshuffles() throws {
        let out = try RangeDataset(0..<20).cache().shuffle(bufferSize: 20, seed: 1).repeat(2).collect()
        #expect(Array(out[0..<20]) != Array(out[20...]))
        #expect(out[20...].sorted() == Array(0..<20))
    }

    @Test func cacheResumesWhileFillingAndWhileReading() throws {
        try expectResumesExactly(RangeDataset(0..<6).cache().repeat(3), total: 18, cuts: [2, 6, 9, 17])
        // As in a new process: the state is restored into a dataset whose cache is empty.
        let first = RangeDataset(0..<6).cache().repeat(3)
        var it = first.makeIterator()
        let head = try pull(&it, 9)
        let fresh = RangeDataset(0..<6).cache().repeat(3)
        var resumed = try fresh.makeIterator(resumingFrom: IteratorState(encoded: it.state.encoded()))
        #expect(head + (try pull(&resumed, 9)) == (0..<3).flatMap { _ in Array(0..<6) })
    }

    @Test func asyncViewYieldsThePass() async throws {
        var seen: [Int] = []
        for try await v in RangeDataset(0..<10).shuffle(bufferSize: 4, seed: 2).async { seen.append(v) }
        #expect(seen == (try RangeDataset(0..<10).shuffle(bufferSize: 4, seed: 2).collect()))
    }
}

@Suite struct ParallelMapTests {
    @Test func parallelMapKeepsOrderAndMatchesMap() throws {
        let serial = try RangeDataset(0..<500).map { $0 * $0 }.collect()
        let parallel = try RangeDataset(0..<500).map(parallelism: 2) { v -> Int in
            if v % 7 == 0 { usleep(200) }     // uneven work would reorder an unordered map
            return v * v
        }.collect()
        #expect(parallel == serial)
    }

    @Test func parallelMapErrorsNameTheElementAndStateResumes() throws {
        var it = RangeDataset(0..<10).map(parallelism: 2) { v -> Int in
            if v == 4 { throw Boom(at: v) }
            return v
        }.makeIterator()
        #expect(try pull(&it, 4) == [0, 1, 2, 3])
        do { _ = try it.next(); Issue.record("expected an error") } catch let DatasetError.functionFailed(_, index, _) {
            #expect(index == 4)
        }
        try expectResumesExactly(RangeDataset(0..<40).map(parallelism: 2, stateInterval: 3) { $0 + 1 },
                                 total: 40, cuts: [0, 1, 5, 17, 40])
    }
}
