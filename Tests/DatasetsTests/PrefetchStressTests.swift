import Foundation
import Testing
import Tensors
@testable import Datasets

/// One seeded round: a source of `count` tracked elements that may throw at `throwAt`, read
/// through the stage under test and broken off after `cut` elements.
struct StressRound: CustomStringConvertible {
    let count: Int
    let bound: Int          // prefetch buffer size or map parallelism
    let cut: Int
    let throwAt: Int?
    let slow: Bool
    let readsState: Bool

    init(_ rng: inout SplitMix64, maxBound: Int) {
        count = rng.nextIndex(below: 40)
        bound = 1 + rng.nextIndex(below: maxBound)
        cut = rng.nextIndex(below: count + 3)
        throwAt = rng.nextIndex(below: 3) == 0 ? rng.nextIndex(below: count + 1) : nil
        slow = rng.nextIndex(below: 4) == 0
        readsState = rng.nextIndex(below: 2) == 0
    }

    /// The elements a correct stage delivers before the error or the end.
    var available: Int { Swift.min(count, throwAt ?? count) }
    var failsBeforeCut: Bool { throwAt.map { $0 < count && $0 < cut } ?? false }

    var description: String {
        "count \(count) bound \(bound) cut \(cut) throwAt \(throwAt.map(String.init) ?? "-") slow \(slow)"
    }

    /// Element `i` of the source (or `nil` past the end, or the planned error).
    func element(_ i: Int, _ counter: LiveCounter) throws -> Tracked? {
        if i == count { return nil }
        if i == throwAt { throw Planned(at: i) }
        if slow && i % 3 == 0 { usleep(UInt32(20 + (i * 37) % 200)) }
        return Tracked(i, counter)
    }

    /// Reads up to `cut` elements and checks order, the error's element and the end; returns
    /// what went wrong. `endsAfterError`: whether the stage's pass is over once it has thrown.
    func consume<I: DatasetIterator>(_ iterator: inout I, endsAfterError: Bool) -> [String] where I.Element == Tracked {
        var problems: [String] = []
        var expected = 0
        while expected < cut {
            let element: Tracked?
            do {
                element = try iterator.next()
            } catch let DatasetError.functionFailed(_, index, underlying) {
                if !failsBeforeCut || index != throwAt || expected != index || (underlying as? Planned) != Planned(at: index) {
                    problems.append("\(self): error at index \(index) after \(expected) elements (\(underlying))")
                }
                if endsAfterError, (try? iterator.next()) != nil {
                    problems.append("\(self): an element followed the error")
                }
                return problems
            } catch {
                return problems + ["\(self): unexpected error \(error)"]
            }
            guard let element else {
                if expected != count || failsBeforeCut { problems.append("\(self): ended after \(expected)") }
                return problems
            }
            if element.value != expected { problems.append("\(self): got \(element.value), expected \(expected)") }
            expected += 1
            if readsState && expected % 4 == 0 { _ = iterator.state }
        }
        if failsBeforeCut { problems.append("\(self): the error never arrived") }
        return problems
    }
}

/// Many short, seeded prefetch and parallel-map passes broken off at random points, with
/// producers and transforms that throw: no deadlock (each test has a deadline), no producer or
/// thread outliving its iterator, buffers within their bound, errors at the right element.
/// Threads are counted per test (``PipelineWorkers``), not per process, so suites running at
/// the same time do not matter (the suite is serialized only to keep its CPU use modest).
@Suite(.serialized) struct PrefetchStressTests {
    @Test func prefetchBrokenOffAtRandomPointsStopsEveryProducerWithinTheBufferBound() throws {
        let rounds = stressRounds(300)
        let workers = PipelineWorkers()
        let outcome = runWithDeadline(seconds: stressDeadline(rounds)) { () -> [String] in
            try workers.counting { () throws -> [String] in
                var rng = SplitMix64(seed: 0x5EED_0001)
                var problems: [String] = []
                var counters: [LiveCounter] = []
                for _ in 0..<rounds {
                    let round = StressRound(&rng, maxBound: 4)
                    let counter = LiveCounter()
                    counters.append(counter)
                    let source = GeneratorDataset(name: "stress") { try round.element($0, counter) }
                    do {
                        var it = source.prefetch(round.bound).makeIterator()
                        problems += round.consume(&it, endsAfterError: true)
                    }
                    // Buffer + the element the producer holds while blocked + the consumer's one.
                    if counter.peak > round.bound + 2 {
                        problems.append("\(round): \(counter.peak) elements alive at once")
                    }
                }
                if !workers.waitUntilAllEnded(timeout: 30) {
                    problems.append("\(workers.live) of \(workers.started) producers still running")
                }
                // What a dropped producer held goes when its thread object does.
                if !eventually(seconds: 10, { counters.allSatisfy { $0.current == 0 } }) {
                    problems.append("\(counters.map(\.current).reduce(0, +)) elements never released")
                }
                return problems
            }
        }
        try expectCleanFinish(outcome)
    }

    @Test func parallelMapBrokenOffAtRandomPointsKeepsOrderAndAtMostTwicePerWorkerInFlight() throws {
        let rounds = stressRounds(200)
        let outcome = runWithDeadline(seconds: stressDeadline(rounds)) { () -> [String] in
            var rng = SplitMix64(seed: 0x5EED_0002)
            var problems: [String] = []
            var finished: [(StressRound, LiveCounter, delivered: Int)] = []
            for _ in 0..<rounds {
                let round = StressRound(&rng, maxBound: 3)
                let counter = LiveCounter()
                let mapped = RangeDataset(0..<round.count).map(parallelism: round.bound) { i -> Tracked in
                    try round.element(i, counter)!
                }
                do {
                    var it = mapped.makeIterator()
                    problems += round.consume(&it, endsAfterError: false)
                }
                // 2 x parallelism results pending + the consumer's one.
                if counter.peak > 2 * round.bound + 1 {
                    problems.append("\(round): \(counter.peak) results alive at once")
                }
                finished.append((round, counter, Swift.min(round.cut, round.available)))
            }
            // Dropped iterators' in-flight work finishes and is released; nothing runs ahead.
            if !eventually(seconds: 10, { finished.allSatisfy { $0.1.current == 0 } }) {
                problems.append("results never released")
            }
            for (round, counter, delivered) in finished where counter.created > delivered + 2 * round.bound {
                problems.append("\(round): \(counter.created) transforms ran for \(delivered) delivered")
            }
            return problems
        }
        try expectCleanFinish(outcome)
    }

    @Test func nestedPipelinesDroppedMidStreamLeaveNoThreadsBehind() throws {
        let rounds = stressRounds(150)
        let workers = PipelineWorkers()
        let outcome = runWithDeadline(seconds: stressDeadline(rounds)) { () -> [String] in
            try workers.counting { () throws -> [String] in
                var rng = SplitMix64(seed: 0x5EED_0003)
                var problems: [String] = []
                for _ in 0..<rounds {
                    let round = StressRound(&rng, maxBound: 3)
                    let counter = LiveCounter()
                    let outerBuffer = 1 + rng.nextIndex(below: 3)
                    let pipeline = GeneratorDataset(name: "stress") { i -> Int? in i < round.count ? i : nil }
                        .map(parallelism: round.bound) { i -> Tracked in try round.element(i, counter)! }
                        .prefetch(outerBuffer)
                    do {
                        var it = pipeline.makeIterator()
                        problems += round.consume(&it, endsAfterError: true)
                    }
                    let bound = 2 * round.bound + outerBuffer + 2
                    if counter.peak > bound { problems.append("\(round): \(counter.peak) alive, bound \(bound)") }
                }
                return problems
            }
        }
        try expectCleanFinish(outcome)
        // Every producer thread and transform call of these pipelines, including the maps that
        // ran on the prefetch threads, has ended.
        #expect(workers.started >= rounds, "only \(workers.started) producers and transforms counted")
        #expect(workers.waitUntilAllEnded(timeout: 30), "\(workers.live) of \(workers.started) still running")
    }

    @Test func manyLivePrefetchIteratorsWithFullBuffersDoNotStarveANewOne() throws {
        // Every producer here is parked on a full buffer. When producers ran on Dispatch's
        // global pool, about 16-30 of them exhausted it and the next iterator waited forever.
        let live = 64
        let workers = PipelineWorkers()
        let outcome = runWithDeadline(seconds: 30) { () -> [String] in
            try workers.counting { () throws -> [String] in
                var held: [Prefetched<RangeDataset>.Iterator] = []
                var problems: [String] = []
                for k in 0..<live {
                    var it = RangeDataset(0..<100).prefetch(1).makeIterator()
                    if try it.next() != 0 { problems.append("iterator \(k) gave a wrong first element") }
                    held.append(it)
                }
                var fresh = RangeDataset(0..<3).map(parallelism: 2) { $0 * 2 }.prefetch(2).makeIterator()
                if try pull(&fresh, 5) != [0, 2, 4] { problems.append("the new pipeline gave wrong elements") }
                for k in held.indices where try held[k].next() != 1 { problems.append("iterator \(k) lost its place") }
                held.removeAll()
                return problems
            }
        }
        try expectCleanFinish(outcome)
        #expect(workers.started >= live + 1, "only \(workers.started) producers counted")
        #expect(workers.waitUntilAllEnded(timeout: 30), "\(workers.live) producers still running after their iterators were dropped")
    }

    private func expectCleanFinish(_ outcome: DeadlineOutcome<[String]>,
                                   sourceLocation: SourceLocation = #_sourceLocation) throws {
        switch outcome {
        case .timedOut:
            Issue.record("deadlock: the stress run did not finish within its deadline", sourceLocation: sourceLocation)
        case let .failed(error):
            Issue.record("stress run threw \(error)", sourceLocation: sourceLocation)
        case let .finished(problems):
            #expect(problems.isEmpty, "\(problems.count) problems, first: \(problems.prefix(5))",
                    sourceLocation: sourceLocation)
        }
    }
}
