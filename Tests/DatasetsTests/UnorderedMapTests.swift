import Foundation
import Synchronization
import Testing
@testable import Datasets

/// Counts transform calls from worker threads.
final class CallCounter: Sendable {
    let calls = Atomic<Int>(0)
    func tick() { calls.add(1, ordering: .relaxed) }
    var value: Int { calls.load(ordering: .relaxed) }
}

/// `map(parallelism:ordered: false)`. Serialized: the worker-count checks read a global gauge.
@Suite(.serialized) struct UnorderedMapTests {
    @Test func yieldsEveryElementExactlyOnce() throws {
        let out = try RangeDataset(0..<500).map(parallelism: 2, ordered: false) { v -> Int in
            if v % 7 == 0 { usleep(100) }
            return v * v
        }.collect()
        #expect(out.count == 500)
        #expect(out.sorted() == (0..<500).map { $0 * $0 })
    }

    @Test func aSlowElementDoesNotHoldUpTheOthers() throws {
        // Element 0 takes 300 ms; the other worker finishes the rest meanwhile.
        let out = try RangeDataset(0..<12).map(parallelism: 2, ordered: false) { v -> Int in
            if v == 0 { usleep(300_000) }
            return v
        }.collect()
        #expect(out.sorted() == Array(0..<12))
        #expect(out.first != 0)
        #expect((out.firstIndex(of: 0) ?? 0) >= 3, "element 0 arrived at \(String(describing: out.firstIndex(of: 0))) in \(out)")
        // The ordered map with the same transform keeps the input order.
        let ordered = try RangeDataset(0..<12).map(parallelism: 2) { v -> Int in
            if v == 0 { usleep(50_000) }
            return v
        }.collect()
        #expect(ordered == Array(0..<12))
    }

    @Test func anErrorReachesTheConsumerOnceAndTheOtherElementsStillArrive() throws {
        var it = RangeDataset(0..<10).map(parallelism: 2, ordered: false) { v -> Int in
            if v == 4 { throw Boom(at: v) }
            return v
        }.makeIterator()
        var values: [Int] = [], failedAt: [Int] = []
        while true {
            do {
                guard let v = try it.next() else { break }
                values.append(v)
            } catch let DatasetError.functionFailed(_, index, underlying) {
                failedAt.append(index)
                #expect(underlying as? Boom == Boom(at: 4))
            }
        }
        #expect(failedAt == [4])
        #expect(values.sorted() == [0, 1, 2, 3, 5, 6, 7, 8, 9])
    }

    @Test func droppingTheIteratorStopsTheWorkers() throws {
        let calls = CallCounter()
        do {
            var it = RangeDataset(0..<1_000_000).map(parallelism: 2, ordered: false) { v -> Int in
                calls.tick()
                usleep(1_000)
                return v
            }.makeIterator()
            #expect(try pull(&it, 5).count == 5)
        }
        #expect(eventually { liveUnorderedMapWorkers.load(ordering: .relaxed) == 0 })
        let settled = calls.value
        usleep(50_000)
        #expect(calls.value == settled, "no transform runs after the workers stopped")
        #expect(settled <= 5 + 4 + 2, "at most the window ahead of the consumer was computed, got \(settled)")
    }

    @Test func theWorkersStopAtTheEndOfThePass() throws {
        #expect(try RangeDataset(0..<20).map(parallelism: 2, ordered: false) { $0 }.collect().count == 20)
        var it = RangeDataset(0..<20).map(parallelism: 2, ordered: false) { $0 }.makeIterator()
        _ = try pull(&it, 25)
        #expect(eventually { liveUnorderedMapWorkers.load(ordering: .relaxed) == 0 })
        withExtendedLifetime(it) {}
    }

    /// The contract: the elements delivered before a save plus those delivered after the
    /// restore are every input element exactly once, even when the save happens while a slow
    /// element is still in flight and later ones were delivered ahead of it.
    @Test(arguments: [0, 1, 3, 8, 20, 39, 40])
    func resumeLosesAndRepeatsNothing(cut: Int) throws {
        let dataset = RangeDataset(0..<40).map(parallelism: 2, ordered: false, stateInterval: 4) { v -> Int in
            if v % 10 == 0 { usleep(150_000) }      // 0, 10, 20, 30 lag behind their neighbours
            return v
        }
        var first = dataset.makeIterator()
        let head = try pull(&first, cut)
        let saved = try IteratorState(encoded: first.state.encoded())
        var resumed = try dataset.makeIterator(resumingFrom: saved)
        let tail = try pull(&resumed, 100)
        #expect((head + tail).sorted() == Array(0..<40), "head \(head) tail \(tail)")
        if cut == 3 {
            // Element 0 was still in flight: the state must carry the early ordinals.
            #expect(!saved.indices.isEmpty && !head.contains(0), "state \(saved) head \(head)")
        }
    }

    @Test func anOrderedMapRejectsAnUnorderedState() throws {
        let unordered = RangeDataset(0..<10).map(parallelism: 2, ordered: false) { v -> Int in
            if v == 0 { usleep(200_000) }
            return v
        }
        var it = unordered.makeIterator()
        _ = try pull(&it, 2)
        let state = it.state
        #expect(!state.indices.isEmpty)
        #expect(throws: DatasetError.self) {
            try RangeDataset(0..<10).map(parallelism: 2) { $0 }.makeIterator(resumingFrom: state)
        }
    }
}
