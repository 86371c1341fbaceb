import Foundation
import Testing
@testable import Datasets
import Tensors

/// Random-access datasets: direct reads, typed errors, adaptors that stay random-access and
/// agree with their streaming counterparts, the gather path as the ordinary path of batching,
/// and states that name what differs.
@Suite struct RandomAccessTests {
    static let x = try! Tensor<Double>(shape: [23, 3], scalars: (0..<69).map { Double($0) * 0.5 })
    static let y = try! Tensor<Int64>(shape: [23], scalars: (0..<23).map { Int64($0 * 7 % 5) })

    /// The streaming form of a pipeline: inside a function generic over `Dataset`, `batch`,
    /// `map`, `shard` and `repeat` are the streaming adaptors.
    static func streaming<D: Dataset>(_ data: D, repeats: Int?, shards: Int, index: Int) -> some Dataset<[D.Element]> {
        data.repeat(repeats).shard(count: shards, index: index).batch(4)
    }

    @Test func sourcesReadAnyElementDirectly() throws {
        #expect(try RangeDataset(5..<15).element(at: 3) == 8)
        let pairs = try Slices(Self.x, Self.y)
        let (row, label) = try pairs.element(at: 22)
        #expect(row.scalars == [33, 33.5, 34] && label.scalars == [Self.y.scalars[22]])
        #expect(try Slices([10, 20, 30]).element(at: 1) == 20)
    }

    @Test func anIndexOutOfRangeIsATypedErrorNamingTheSource() throws {
        func expectOutOfRange(_ body: () throws -> Void, source: String, index: Int, count: Int,
                              sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                try body()
                Issue.record("no error", sourceLocation: sourceLocation)
            } catch let DatasetError.indexOutOfRange(gotSource, gotIndex, gotCount) {
                #expect([gotSource, "\(gotIndex)", "\(gotCount)"] == [source, "\(index)", "\(count)"], sourceLocation: sourceLocation)
            } catch {
                Issue.record("expected indexOutOfRange, got \(error)", sourceLocation: sourceLocation)
            }
        }
        expectOutOfRange({ _ = try RangeDataset(0..<10).element(at: 10) }, source: "range 0..<10", index: 10, count: 10)
        expectOutOfRange({ _ = try RangeDataset(0..<10).element(at: -1) }, source: "range 0..<10", index: -1, count: 10)
        expectOutOfRange({ _ = try Slices([1, 2]).element(at: 2) }, source: "slices(array)", index: 2, count: 2)
        expectOutOfRange({ _ = try RangeDataset(0..<10).globalShuffle(seed: 1).element(at: 10) },
                         source: "globalShuffle", index: 10, count: 10)
        expectOutOfRange({ _ = try RangeDataset(0..<10).batch(3).element(at: 4) }, source: "batch", index: 4, count: 4)
        expectOutOfRange({ _ = try RangeDataset(0..<10).slice(2..<5).element(at: 3) }, source: "slice 2..<5", index: 3, count: 3)
        expectOutOfRange({ _ = try RangeDataset(0..<10).repeat(2).element(at: 20) }, source: "repeat", index: 20, count: 20)
        let message = DatasetError.indexOutOfRange(source: "slices", index: 7, count: 5).localizedDescription
        #expect(message == "slices: element index 7 is out of range 0..<5")
        #expect(throws: DatasetError.self) { try RangeDataset(0..<10).slice(5..<12).collect() }
        #expect(throws: DatasetError.self) { try RangeDataset(0..<10).batch(0).collect() }
    }

    @Test(arguments: [nil, 1, 3] as [Int?])
    func adaptorsYieldWhatTheirStreamingCounterpartsYield(_ repeats: Int?) throws {
        let data = RangeDataset(0..<23)
        for shards in [1, 2, 5] {
            for index in 0..<shards {
                let randomAccess = data.repeat(repeats).shard(count: shards, index: index).batch(4)
                let stream = Self.streaming(data, repeats: repeats, shards: shards, index: index)
                #expect(try randomAccess.collect(limit: 40) == stream.collect(limit: 40))
                #expect(randomAccess.cardinality == stream.cardinality)
            }
        }
        #expect(try data.map { $0 * 2 }.collect() == data.collect().map { $0 * 2 })
        #expect(try data.slice(4..<9).collect() == [4, 5, 6, 7, 8])
        #expect(try data.batch(5, dropRemainder: true).collect().count == 4)
        #expect(data.repeat().cardinality == .infinite)
        #expect(data.repeat(0).count == 0 && RangeDataset(0..<0).repeat().count == 0)
    }

    @Test func randomAccessPipelinesTakeEveryStreamingAdaptorAfterThem() throws {
        let data = RangeDataset(0..<40).globalShuffle(seed: 3)
        let order = try data.collect()
        #expect(try data.filter { $0 % 2 == 0 }.collect() == order.filter { $0 % 2 == 0 })
        #expect(try data.map(parallelism: 2) { $0 + 1 }.collect() == order.map { $0 + 1 })
        #expect(try data.prefetch(3).collect() == order)
        let buffered = try data.shuffle(bufferSize: 8, seed: 1).collect()
        #expect(buffered.sorted() == Array(0..<40) && buffered != order)
        try expectResumesExactly(data.shuffle(bufferSize: 8, seed: 1).batch(3).prefetch(2), total: 14, cuts: [2, 9])
    }

    /// Tensor batches are gathered through the stages' `stackedElements`: the batches equal the
    /// per-element stacking of a closure-built source (which cannot gather), and the gather
    /// really reaches the tensors (a stage that answered `nil` would fail the last check).
    @Test func batchingGathersRowsThroughEveryReorderingStage() throws {
        let fast = try Slices(Self.x, Self.y)
        let slow = Slices(count: 23) { (Self.x.row($0), Self.y.row($0)) }
        func pipeline<S: RandomAccessDataset>(_ s: S) -> some RandomAccessDataset<(Tensor<Double>, Tensor<Int64>)>
        where S.Element == (Tensor<Double>, Tensor<Int64>) {
            s.globalShuffle(seed: 4).slice(1..<22).repeat(3).shard(count: 2, index: 1).batch(5)
        }
        let a = pipeline(fast), b = pipeline(slow)
        #expect(a.count == b.count)
        for epoch: UInt64 in [0, 6] {
            for batch in 0..<a.count {
                #expect(pairKey(try a.element(at: batch, epoch: epoch)) == pairKey(try b.element(at: batch, epoch: epoch)),
                        "batch \(batch) epoch \(epoch)")
            }
        }
        let shardBelowBatch = fast.globalShuffle(seed: 4).slice(1..<22).repeat(3).shard(count: 2, index: 1)
        #expect(try shardBelowBatch.stackedElements(at: [0, 1, 2], epoch: 0) != nil, "tensor slices gather")
        #expect(try slow.globalShuffle(seed: 4).stackedElements(at: [0, 1], epoch: 0) == nil, "closure slices cannot")
        #expect(try fast.map { $0 }.stackedElements(at: [0], epoch: 0) == nil, "a map reads element by element")
        // The fast path's single tensors too.
        let rows = try Slices(Self.x).globalShuffle(seed: 2).batch(6)
        let rowsSlow = Slices(count: 23) { Self.x.row($0) }.globalShuffle(seed: 2).batch(6)
        #expect(try rows.collect().map(\.scalars) == rowsSlow.collect().map(\.scalars))
    }

    /// States written by the streaming adaptors before `map`, `batch`, `shard` and `repeat`
    /// over slices became random-access (as old checkpoints hold them) restore into the new
    /// pipelines and continue with the same elements.
    @Test func streamingStatesOfTheSamePipelineStillRestore() throws {
        func old<D: Dataset>(_ data: D) -> some Dataset<[D.Element]> {
            data.repeat(2).map { $0 }.shard(count: 3, index: 1).batch(4)
        }
        let data = RangeDataset(0..<23)
        let new = data.repeat(2).map { $0 }.shard(count: 3, index: 1).batch(4)
        let expected = try old(data).collect(epoch: 3)
        #expect(try new.collect(epoch: 3) == expected)
        for cut in [0, 1, 2, 3] {
            var it = old(data).makeIterator(epoch: 3)
            _ = try pull(&it, cut)
            let saved = try IteratorState(encoded: it.state.encoded())
            #expect(saved.kind == "batch", "a streaming state")
            var resumed = try new.makeIterator(resumingFrom: saved)
            #expect(try pull(&resumed, 100) == Array(expected[cut...]), "cut \(cut)")
        }
        // The CLI's pipeline without shuffling: slices -> batch -> map -> prefetch.
        func oldCLI<D: Dataset>(_ data: D) -> some Dataset<[Double]> where D.Element == Tensor<Double> {
            data.batch(5).map { $0.scalars }.prefetch(2)
        }
        let rows = try Slices(Self.x)
        var it = oldCLI(rows).makeIterator()
        _ = try pull(&it, 2)
        var resumed = try rows.batch(5).map { $0.scalars.flatMap { [$0] } }.prefetch(2).makeIterator(resumingFrom: it.state)
        #expect(try pull(&resumed, 10) == Array(try oldCLI(rows).collect()[2...]))
        // A setting that differs is still refused, naming it.
        var three = old(data).makeIterator()
        _ = try three.next()
        #expect(throws: DatasetError.self) {
            _ = try data.repeat(2).map { $0 }.shard(count: 3, index: 1).batch(5).makeIterator(resumingFrom: three.state)
        }
    }

    func expectMismatch<A: Dataset, B: Dataset>(_ saved: A, _ restored: B, stage: String, parameter: String,
                                                saved savedValue: String, current: String,
                                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        try StateParameterTests().expectRefused(saved, into: restored, stage: stage, parameter: parameter,
                                                saved: savedValue, current: current, sourceLocation: sourceLocation)
    }

    @Test func aStateFromAnotherSeedSourceOrPipelineIsRefusedNamingWhatDiffers() throws {
        let n = 1_000
        func pipeline(seed: UInt64 = 7, rows: Int = n, batch: Int = 8) -> some RandomAccessDataset<[Int]> {
            RangeDataset(0..<rows).globalShuffle(seed: seed).shard(count: 2, index: 0).batch(batch)
        }
        try expectMismatch(pipeline(), pipeline(seed: 8), stage: "globalShuffle", parameter: "seed", saved: "7", current: "8")
        try expectMismatch(pipeline(), pipeline(rows: 999), stage: "range", parameter: "range",
                           saved: "0..<1000", current: "0..<999")
        try expectMismatch(pipeline(), pipeline(batch: 16), stage: "batch", parameter: "size", saved: "8", current: "16")
        try expectMismatch(Slices(count: 10) { $0 }.globalShuffle(seed: 1), Slices(count: 11) { $0 }.globalShuffle(seed: 1),
                           stage: "slices", parameter: "count", saved: "10", current: "11")
        try expectMismatch(pipeline(), RangeDataset(0..<n).globalShuffle(seed: 7).batch(8),
                           stage: "randomAccess", parameter: "stages",
                           saved: "range > globalShuffle > shard > batch", current: "range > globalShuffle > batch")
        try expectMismatch(RangeDataset(0..<n).globalShuffle(seed: 7), RangeDataset(0..<n).globalShuffle(seed: 7).globalShuffle(seed: 9),
                           stage: "randomAccess", parameter: "stages",
                           saved: "range > globalShuffle", current: "range > globalShuffle > globalShuffle")
        // The same stages in another order are another pipeline.
        try expectMismatch(RangeDataset(0..<n).slice(0..<500).globalShuffle(seed: 7), RangeDataset(0..<n).globalShuffle(seed: 7).slice(0..<500),
                           stage: "randomAccess", parameter: "stages",
                           saved: "range > slice > globalShuffle", current: "range > globalShuffle > slice")
        // A streaming stage refuses a random-access state by its kind.
        var it = pipeline().makeIterator()
        _ = try it.next()
        #expect(throws: DatasetError.self) { _ = try RangeDataset(0..<n).shuffle(bufferSize: 4, seed: 7).makeIterator(resumingFrom: it.state) }
        let message = DatasetError.mismatchedState(stage: "globalShuffle", parameter: "seed", saved: "7", current: "8").localizedDescription
        #expect(message.contains("'globalShuffle' stage with seed 7") && message.contains("seed 8"))
    }

    /// `Slices.repeat()` is random-access now; a buffered shuffle and a batch after it still
    /// gather rows by index, as before, with the same batches as element by element.
    @Test func aBufferedShuffleOverARepeatOfSlicesKeepsTheIndexFastPath() throws {
        let fast = try Slices(Self.x, Self.y).repeat(2).shuffle(bufferSize: 7, seed: 3).batch(4)
        let slow = Slices(count: 23) { (Self.x.row($0), Self.y.row($0)) }.repeat(2).shuffle(bufferSize: 7, seed: 3).batch(4)
        #expect(fast.makeIterator().rows != nil, "the index fast path")
        #expect(slow.makeIterator().rows == nil)
        #expect(try fast.collect().map(pairKey) == slow.collect().map(pairKey))
        try expectResumesExactly(fast, total: 12, cuts: [0, 5, 6, 11], key: pairKey)
        try expectResumesExactly(slow, total: 12, cuts: [5], key: pairKey)
    }

    /// The claims of "Two kinds of dataset" in the Building Pipelines article.
    @Test func theArticlesTwoKindsClaimsHold() throws {
        var it = RangeDataset(0..<1_000_000).globalShuffle(seed: 7).batch(256).makeIterator(epoch: 3)
        _ = try it.next()
        let bytes = try it.state.encoded()
        #expect(bytes.count < 256)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix(#"{"counters":[1,1],"kind":"randomAccess","#))
        let squares = try ArticleSquares(count: 10).globalShuffle(seed: 1).collect()
        #expect(squares.sorted() == (0..<10).map { $0 * $0 })
        #expect(throws: DatasetError.self) { try ArticleSquares(count: 10).element(at: 10) }
        // The rank's batch read directly equals the one iterated.
        let rows = try Slices(Self.x, Self.y)
        let mine = rows.globalShuffle(seed: 18).shard(count: 4, index: 1).batch(2)
        var pass = mine.makeIterator(epoch: 2)
        let batches = try pull(&pass, 100)
        #expect(batches.count == mine.count && mine.count == 3)
        #expect(pairKey(try mine.element(at: 2, epoch: 2)) == pairKey(batches[2]))
    }
}

/// The article's example of a random-access source of one's own.
struct ArticleSquares: RandomAccessDataset {
    typealias Element = Int
    typealias Iterator = RandomAccessIterator<Self>
    let count: Int
    func element(at index: Int) throws -> Int {
        guard (0..<count).contains(index) else {
            throw DatasetError.indexOutOfRange(source: "squares", index: index, count: count)
        }
        return index * index
    }
}
