import Foundation
import Testing
import Tensors
@testable import Datasets

/// The prefetch hand-over between its producer thread and the consumer's own thread: bounded
/// buffers, exact resume and no leftover threads whichever side runs the input, and a policy
/// that keeps the faster side (driven by a simulated clock, never the wall clock).
@Suite(.serialized) struct PrefetchPlacementTests {
    /// Fixed rules: the producer thread only, and hand-overs after every 1, 2 and 5 elements.
    static let rules: [PrefetchPlacementRule] = [.producerThread, .alternating(period: 1), .alternating(period: 2),
                                                 .alternating(period: 5)]

    private func prefetched<D: Dataset>(_ dataset: D, _ bufferSize: Int, stateInterval: Int = 256,
                                        _ rule: PrefetchPlacementRule) -> Prefetched<D> {
        Prefetched(base: dataset, bufferSize: bufferSize, stateInterval: stateInterval, placementRule: rule)
    }

    @Test(arguments: rules)
    func elementsAndOrderDoNotDependOnWhereTheInputRuns(rule: PrefetchPlacementRule) throws {
        let plain = try RangeDataset(0..<500).shuffle(bufferSize: 50, seed: 9).batch(7).collect()
        for bufferSize in 1...4 {
            let fetched = prefetched(RangeDataset(0..<500).shuffle(bufferSize: 50, seed: 9).batch(7), bufferSize, rule)
            #expect(try fetched.collect() == plain, "buffer \(bufferSize)")
        }
    }

    @Test func theInputRunsOnBothSidesUnderAnAlternatingRule() throws {
        var it = prefetched(RangeDataset(0..<100), 2, .alternating(period: 3)).makeIterator()
        var seen: Set<PrefetchPlacement> = []
        while try it.next() != nil { seen.insert(it.placement) }
        #expect(seen == [.producerThread, .consumerThread])
    }

    @Test(arguments: rules)
    func atMostBufferSizeElementsWaitAheadOfTheConsumer(rule: PrefetchPlacementRule) throws {
        for bufferSize in 1...4 {
            let counter = LiveCounter()
            let source = GeneratorDataset(name: "tracked") { i -> Tracked? in i < 300 ? Tracked(i, counter) : nil }
            do {
                var it = prefetched(source, bufferSize, rule).makeIterator()
                var expected = 0
                while let element = try it.next() {
                    #expect(element.value == expected)
                    expected += 1
                }
                #expect(expected == 300)
            }
            // The buffer, the element the producer holds while it waits for room, the consumer's.
            #expect(counter.peak <= bufferSize + 2, "\(rule), buffer \(bufferSize): \(counter.peak) alive at once")
        }
    }

    @Test(arguments: rules)
    func resumesExactlyAtEveryPositionWithElementsInFlight(rule: PrefetchPlacementRule) throws {
        for bufferSize in [1, 3] {
            let pipeline = prefetched(try ResumeTests.seedPipelineData(60).shuffle(bufferSize: 20, seed: 18).repeat().batch(4),
                                      bufferSize, stateInterval: 3, rule)
            try expectResumesExactly(pipeline, total: 40, cuts: Array(0...40), key: pairKey)
        }
    }

    @Test(arguments: rules)
    func errorsArriveInOrderAfterAHandOver(rule: PrefetchPlacementRule) throws {
        for failAt in [0, 1, 4, 9] {
            let failing = GeneratorDataset(name: "flaky") { i -> Int? in
                if i == failAt { throw Boom(at: i) }
                return i
            }
            var it = prefetched(failing, 2, rule).makeIterator()
            #expect(try pull(&it, failAt) == Array(0..<failAt))
            #expect(throws: DatasetError.self) { _ = try it.next() }
            #expect(try it.next() == nil, "the pass is over after the error")
        }
    }

    @Test(arguments: rules)
    func droppingTheIteratorOnEitherSideLeavesNoThreadRunning(rule: PrefetchPlacementRule) throws {
        let workers = PipelineWorkers()
        try workers.counting { () throws in
            for cut in 0..<12 {
                var it = prefetched(RangeDataset(0..<1_000_000).repeat(), 1 + cut % 3, rule).makeIterator()
                #expect(try pull(&it, cut) == Array(0..<cut))
            }
        }
        #expect(workers.started >= 11, "only \(workers.started) producers started")
        // The timeout only keeps a leak from hanging the suite; nothing waits for it to pass.
        #expect(workers.waitUntilAllEnded(timeout: 30), "\(workers.live) producers outlived their iterators")
    }

    // MARK: The adaptive policy, on a simulated clock

    /// Delivers `count` elements through the policy, advancing the clock by the cost of the
    /// placement in use; returns how many elements each placement delivered.
    private func simulate(count: Int, bufferSize: Int = 2,
                         cost: (PrefetchPlacement) -> UInt64) -> [PrefetchPlacement: Int] {
        let clock = SimulatedClock()
        var policy = PrefetchPlacementPolicy(rule: .adaptive, bufferSize: bufferSize, now: { clock.now })
        var delivered: [PrefetchPlacement: Int] = [:]
        for _ in 0..<count {
            clock.now += cost(policy.placement)
            delivered[policy.placement, default: 0] += 1
            policy.delivered()
        }
        return delivered
    }

    @Test func thePolicyKeepsTheConsumerThreadWhenTheHandOverCostsMore() {
        // 1 µs per element inline, 2 µs through the producer thread: the seed pipeline's case.
        let delivered = simulate(count: 3_000_000) { $0 == .consumerThread ? 1_000 : 2_000 }
        let inline = delivered[.consumerThread, default: 0]
        #expect(Double(inline) / 3e6 > 0.99, "\(delivered)")
        #expect(delivered[.producerThread, default: 0] > 0, "the producer thread was never timed again")
    }

    @Test func thePolicyKeepsTheProducerThreadWhenItOverlapsCostlyWork() {
        // 1 ms per element overlapped, 2 ms serial: the 1 ms map's case.
        let delivered = simulate(count: 20_000) { $0 == .producerThread ? 1_000_000 : 2_000_000 }
        #expect(Double(delivered[.producerThread, default: 0]) / 2e4 > 0.97, "\(delivered)")
    }

    @Test func probesThatStallTheConsumerAreSpacedOutToAFewPercent() {
        // On a loaded machine, waking the producer thread can stall the consumer for 20 ms.
        let clock = SimulatedClock()
        var policy = PrefetchPlacementPolicy(rule: .adaptive, bufferSize: 2, now: { clock.now })
        let start = clock.now
        var previous = policy.placement
        for _ in 0..<3_000_000 {
            // Waking the producer thread, and taking the input back from it, each stall 20 ms.
            if policy.placement != previous { clock.now += 20_000_000 }
            previous = policy.placement
            clock.now += policy.placement == .consumerThread ? 1_000 : 2_000
            policy.delivered()
        }
        let overhead = Double(clock.now - start) / 3e9 - 1
        #expect(overhead < 0.04, "probing cost \(overhead * 100)% over always running inline")
    }

    @Test func aNewIteratorStartsWithWhatTheLastOneLearned() {
        let memory = PrefetchPlacementMemory()
        let clock = SimulatedClock()
        var first = PrefetchPlacementPolicy(rule: .adaptive, bufferSize: 2, memory: memory, now: { clock.now })
        for _ in 0..<10_000 {
            clock.now += first.placement == .consumerThread ? 1_000 : 2_000
            first.delivered()
        }
        let next = PrefetchPlacementPolicy(rule: .adaptive, bufferSize: 2, memory: memory, now: { clock.now })
        #expect(next.placement == .consumerThread)
        let unrelated = PrefetchPlacementPolicy(rule: .adaptive, bufferSize: 2, now: { clock.now })
        #expect(unrelated.placement == .producerThread)
    }

    @Test func thePolicyFollowsAChangeInCosts() {
        let clock = SimulatedClock()
        var policy = PrefetchPlacementPolicy(rule: .adaptive, bufferSize: 2, now: { clock.now })
        var inlineCheaper = true
        var lateInline = 0
        for step in 0..<5_000_000 {
            if step == 2_000_000 { inlineCheaper = false }
            let cheap = (policy.placement == .consumerThread) == inlineCheaper
            clock.now += cheap ? 1_000 : 3_000
            if step >= 4_000_000 && policy.placement == .consumerThread { lateInline += 1 }
            policy.delivered()
        }
        #expect(lateInline < 20_000, "still inline for \(lateInline) of the last 1,000,000 elements")
    }
}

/// A clock the test moves by hand.
private final class SimulatedClock: @unchecked Sendable {
    var now: UInt64 = 1_000_000
}
