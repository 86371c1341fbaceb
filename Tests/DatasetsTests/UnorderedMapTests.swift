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

/// `map(parallelism:ordered: false)`. Slow elements are held at a ``Gate`` the test opens, and
/// worker lifetimes are counted per pipeline (``PipelineWorkers``), so nothing depends on how
/// fast threads run or on what other suites run meanwhile.
@Suite struct UnorderedMapTests {
    @Test func yieldsEveryElementExactlyOnce() throws {
        let out = try RangeDataset(0..<500).map(parallelism: 2, ordered: false) { v -> Int in
            if v % 7 == 0 { usleep(100) }
            return v * v
        }.collect()
        #expect(out.count == 500)
        #expect(out.sorted() == (0..<500).map { $0 * $0 })
    }

    @Test func aSlowElementDoesNotHoldUpTheOthers() throws {
        // Element 0 is held until the consumer has three others: the other worker computes
        // them meanwhile. An implementation that waited for element 0 would never get them
        // (the deadline turns that into a failure).
        let gate = Gate()
        defer { gate.open() }
        let outcome = runWithDeadline(seconds: 60) { () -> ([Int], [Int]) in
            var it = RangeDataset(0..<12).map(parallelism: 2, ordered: false) { v -> Int in
                if v == 0 { gate.wait() }
                return v
            }.makeIterator()
            let whileHeld = try pull(&it, 3)
            gate.open()
            return (whileHeld, try pull(&it, 20))
        }
        guard case let .finished((whileHeld, rest)) = outcome else {
            Issue.record("the unordered map waited for the held element 0: \(outcome)")
            return
        }
        #expect(!whileHeld.contains(0) && whileHeld.count == 3, "delivered while 0 was held: \(whileHeld)")
        #expect((whileHeld + rest).sorted() == Array(0..<12))
        // The ordered map keeps the input order even when element 1 finishes before element 0
        // (element 0 waits until element 1's transform has run; they run on different queues).
        let orderGate = Gate()
        let ordered = try RangeDataset(0..<12).map(parallelism: 2) { v -> Int in
            if v == 0 { orderGate.wait() }
            if v == 1 { orderGate.open() }
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
        let workers = PipelineWorkers()
        try workers.counting { () throws in
            var it = RangeDataset(0..<1_000_000).map(parallelism: 2, ordered: false) { v -> Int in
                calls.tick()
                return v
            }.makeIterator()
            #expect(try pull(&it, 5).count == 5)
        }
        #expect(workers.started == 2)
        #expect(workers.waitUntilAllEnded(timeout: 30), "\(workers.live) workers outlived their iterator")
        // Once the workers have ended no transform can run, so this count is final.
        #expect(calls.value <= 5 + 4 + 2, "at most the window ahead of the consumer was computed, got \(calls.value)")
    }

    @Test func theWorkersStopAtTheEndOfThePass() throws {
        #expect(try RangeDataset(0..<20).map(parallelism: 2, ordered: false) { $0 }.collect().count == 20)
        let workers = PipelineWorkers()
        try workers.counting { () throws in
            var it = RangeDataset(0..<20).map(parallelism: 2, ordered: false) { $0 }.makeIterator()
            _ = try pull(&it, 25)
            // The iterator is still alive: the end of the pass alone must let the workers go.
            #expect(workers.started == 2)
            #expect(workers.waitUntilAllEnded(timeout: 30), "\(workers.live) workers still running")
            withExtendedLifetime(it) {}
        }
    }

    /// The contract: the elements delivered before a save plus those delivered after the
    /// restore are every input element exactly once, even when the save happens while a slow
    /// element is still in flight and later ones were delivered ahead of it.
    /// Element 0 is held at a gate until the state is saved, so for every cut below 40 the
    /// state is taken while 0 is still in flight and later elements were delivered ahead of it.
    @Test(arguments: [0, 1, 3, 8, 20, 39, 40])
    func resumeLosesAndRepeatsNothing(cut: Int) throws {
        let gate = Gate()
        defer { gate.open() }
        let outcome = runWithDeadline(seconds: 60) { () -> ([Int], IteratorState, [Int]) in
            let dataset = RangeDataset(0..<40).map(parallelism: 2, ordered: false, stateInterval: 4) { v -> Int in
                if v == 0 { gate.wait() }
                return v
            }
            var first = dataset.makeIterator()
            var head = try pull(&first, Swift.min(cut, 39))
            if cut == 40 {
                gate.open()
                head += try pull(&first, 1)
            }
            let saved = try IteratorState(encoded: first.state.encoded())
            gate.open()
            var resumed = try dataset.makeIterator(resumingFrom: saved)
            return (head, saved, try pull(&resumed, 100))
        }
        guard case let .finished((head, saved, tail)) = outcome else {
            Issue.record("cut \(cut): \(outcome)")
            return
        }
        #expect((head + tail).sorted() == Array(0..<40), "head \(head) tail \(tail)")
        if cut > 0 && cut < 40 {
            // Element 0 was still in flight: the state must carry the early ordinals.
            #expect(!head.contains(0) && saved.indices.count == cut, "state \(saved) head \(head)")
        }
    }

    @Test func anOrderedMapRejectsAnUnorderedState() throws {
        let gate = Gate()
        defer { gate.open() }
        let outcome = runWithDeadline(seconds: 60) { () -> IteratorState in
            var it = RangeDataset(0..<10).map(parallelism: 2, ordered: false) { v -> Int in
                if v == 0 { gate.wait() }
                return v
            }.makeIterator()
            _ = try pull(&it, 2)              // delivered while element 0 is held
            let state = it.state
            gate.open()
            return state
        }
        guard case let .finished(state) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(state.indices == [1, 2])
        let error = #expect(throws: DatasetError.self) {
            try RangeDataset(0..<10).map(parallelism: 2) { $0 }.makeIterator(resumingFrom: state)
        }
        guard case let .mismatchedState(stage, parameter, saved, current)? = error else {
            Issue.record("expected mismatchedState, got \(String(describing: error))")
            return
        }
        #expect([stage, parameter, saved, current] == ["parallelMap", "ordered", "false", "true"])
        // A state without recorded settings (as older versions wrote) is refused by its early ordinals.
        let unrecorded = IteratorState(kind: state.kind, counters: state.counters, seeds: state.seeds,
                                       indices: state.indices, children: state.children, parameters: nil)
        let olderError = #expect(throws: DatasetError.self) {
            try RangeDataset(0..<10).map(parallelism: 2) { $0 }.makeIterator(resumingFrom: unrecorded)
        }
        guard case let .incompatibleState(expected, found)? = olderError else {
            Issue.record("expected incompatibleState, got \(String(describing: olderError))")
            return
        }
        #expect(expected == "an ordered parallel map" && found.contains("[1, 2]"), "\(expected) / \(found)")
    }
}
