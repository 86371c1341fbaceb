import Foundation
import Testing
@testable import Datasets
import Tensors

/// A random-access source whose element `i` is `i` and which records every index read.
struct RecordingSource: RandomAccessDataset {
    typealias Element = Int
    typealias Iterator = RandomAccessIterator<Self>
    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var indices: [Int] = []
        var read: [Int] { lock.lock(); defer { lock.unlock() }; return indices }
        func append(_ index: Int) { lock.lock(); indices.append(index); lock.unlock() }
    }
    let count: Int
    let log = Log()

    func element(at index: Int) throws -> Int {
        try checkIndex(index, source: "recording")
        log.append(index)
        return index
    }
}

/// `shard(count:index:)` on a random-access dataset strides over the global (shuffled) order:
/// no shard reads another's rows, nothing is padded or duplicated, and a state saved by 2
/// shards resumes on 1, 3 or 4 with every remaining row of the epoch yielded exactly once.
@Suite struct ShardResumeTests {
    static let n = 103

    static func pipeline(_ source: RecordingSource, count: Int, index: Int) -> some RandomAccessDataset<[Int]> {
        source.globalShuffle(seed: 5).shard(count: count, index: index).batch(4)
    }

    @Test(arguments: [1, 2, 3, 4, 7])
    func shardsReadOnlyTheirOwnRowsAndCoverTheEpochOnce(_ shards: Int) throws {
        var readSets: [[Int]] = []
        var yielded: [Int] = []
        let order = try RangeDataset(0..<Self.n).globalShuffle(seed: 5).collect(epoch: 2)
        for index in 0..<shards {
            let source = RecordingSource(count: Self.n)
            let mine = try Self.pipeline(source, count: shards, index: index).collect(epoch: 2).flatMap { $0 }
            #expect(source.log.read == mine, "shard \(index) read exactly the rows it yielded, once each")
            #expect(mine == stride(from: index, to: Self.n, by: shards).map { order[$0] }, "a stride over the global order")
            readSets.append(source.log.read)
            yielded += mine
        }
        #expect(yielded.sorted() == Array(0..<Self.n), "every row once: no padding, no duplicates")
        for a in 0..<shards { for b in (a + 1)..<shards { #expect(Set(readSets[a]).isDisjoint(with: readSets[b])) } }
        // The uneven last step: shards below n % count have one row more.
        for index in 0..<shards {
            let rows = Self.pipeline(RecordingSource(count: Self.n), count: shards, index: index)
            #expect(try rows.collect().flatMap { $0 }.count == Self.n / shards + (index < Self.n % shards ? 1 : 0))
        }
    }

    /// Two ranks take `steps` batches in lockstep and rank 0's state is saved; `newCount` ranks
    /// restore it. What the 2 ranks yielded plus what the new ranks yield is each row once.
    @Test(arguments: [(1, 3), (3, 3), (4, 3), (1, 0), (3, 7), (4, 12), (3, 13), (2, 5)])
    func twoShardsResumeOnAnotherCount(_ newCount: Int, _ steps: Int) throws {
        let epoch: UInt64 = 4
        var before: [Int] = []
        var states: [IteratorState] = []
        for rank in 0..<2 {
            var it = Self.pipeline(RecordingSource(count: Self.n), count: 2, index: rank).makeIterator(epoch: epoch)
            before += try pull(&it, steps).flatMap { $0 }
            states.append(try IteratorState(encoded: it.state.encoded()))
        }
        #expect(states[0] == states[1] || states[0].counters[1] == states[1].counters[1],
                "ranks in lockstep share the global position")
        let global = states[0].counters[1]
        #expect(global == Swift.min(steps * 4 * 2, Self.n))
        var after: [Int] = []
        for rank in 0..<newCount {
            let source = RecordingSource(count: Self.n)
            var it = try Self.pipeline(source, count: newCount, index: rank).makeIterator(resumingFrom: states[0])
            let rows = try pull(&it, 1_000).flatMap { $0 }
            #expect(source.log.read == rows, "rank \(rank) of \(newCount) reads only what it yields")
            after += rows
        }
        #expect((before + after).sorted() == Array(0..<Self.n), "2 -> \(newCount) after \(steps) steps: each row once")
        // And the rows after the cut are exactly the global order from the saved position on.
        let order = try RangeDataset(0..<Self.n).globalShuffle(seed: 5).collect(epoch: epoch)
        #expect(Set(after) == Set(order[global...]))
    }

    @Test func aResumedShardSavesAGlobalPositionThatResumesAgain() throws {
        // 2 -> 3 -> 4 ranks, with a map between the shard and the batch.
        func ranks(_ count: Int, _ index: Int) -> some RandomAccessDataset<[Int]> {
            RangeDataset(0..<Self.n).globalShuffle(seed: 8).shard(count: count, index: index).map { $0 * 10 }.batch(3)
        }
        var seen: [Int] = []
        var saved: IteratorState?
        for (count, steps) in [(2, 5), (3, 4), (4, 100)] {
            var next: IteratorState?
            for rank in 0..<count {
                var it = try saved.map { try ranks(count, rank).makeIterator(resumingFrom: $0) } ?? ranks(count, rank).makeIterator()
                seen += try pull(&it, steps).flatMap { $0 }
                if rank == 0 { next = it.state }
            }
            saved = next
        }
        #expect(seen.sorted() == (0..<Self.n).map { $0 * 10 })
    }

    @Test func theSameLayoutResumesExactly() throws {
        try expectResumesExactly(Self.pipeline(RecordingSource(count: Self.n), count: 3, index: 2),
                                 total: 9, cuts: [0, 4, 9])
        // A shard under a shuffle is not a prefix of the order: its count and index are checked.
        let underShuffle = RangeDataset(0..<40).shard(count: 2, index: 1).globalShuffle(seed: 1)
        var it = underShuffle.makeIterator()
        _ = try it.next()
        #expect(throws: DatasetError.self) {
            _ = try RangeDataset(0..<40).shard(count: 3, index: 1).globalShuffle(seed: 1).makeIterator(resumingFrom: it.state)
        }
        try expectResumesExactly(underShuffle, total: 20, cuts: [7])
    }

    @Test func invalidShardSettingsAreTypedErrors() throws {
        #expect(throws: DatasetError.self) { try RangeDataset(0..<10).shard(count: 3, index: 3).collect() }
        #expect(throws: DatasetError.self) { try RangeDataset(0..<10).shard(count: 0, index: 0).collect() }
        #expect(throws: DatasetError.self) { try RangeDataset(0..<10).shard(count: 2, index: 0).element(at: 5) }
    }
}
