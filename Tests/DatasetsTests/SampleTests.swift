import Foundation
import Testing
@testable import Datasets
import Tensors

/// `sample(from:weights:seed:stopping:)`: validated weights, the requested proportions, both stop
/// policies, exact resume from every position, refused states of another configuration, and a
/// state under 1 KB for 100 sources.
@Suite struct SampleTests {
    /// Source `i` yields `i` forever, so an element names the source it was drawn from.
    static func taggedForever(_ count: Int) -> [Repeated<RangeDataset>] {
        (0..<count).map { RangeDataset($0..<($0 + 1)).repeat() }
    }

    func expectInvalid<D: Dataset>(_ datasets: [D], weights: [Double]?, mentioning words: [String],
                                   sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try sample(from: datasets, weights: weights, seed: 1)
            Issue.record("weights \(String(describing: weights)) were accepted", sourceLocation: sourceLocation)
        } catch let DatasetError.invalidArgument(stage, reason) {
            #expect(stage == "sample", sourceLocation: sourceLocation)
            for word in words {
                #expect(reason.contains(word), "\(reason) should mention \(word)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("expected invalidArgument, got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func weightsAreValidatedWithTypedErrors() {
        let two = [RangeDataset(0..<3), RangeDataset(3..<6)]
        expectInvalid([RangeDataset](), weights: nil, mentioning: ["at least one dataset"])
        expectInvalid([RangeDataset](), weights: [], mentioning: ["at least one dataset"])
        expectInvalid(two, weights: [1], mentioning: ["1 weights for 2 datasets"])
        expectInvalid(two, weights: [1, 2, 3], mentioning: ["3 weights for 2 datasets"])
        expectInvalid(two, weights: [1, -0.5], mentioning: ["weights[1]", "-0.5"])
        expectInvalid(two, weights: [.nan, 1], mentioning: ["weights[0]", "nan"])
        expectInvalid(two, weights: [1, .infinity], mentioning: ["weights[1]", "inf"])
        expectInvalid(two, weights: [0, 0], mentioning: ["all 2 weights are 0"])
        expectInvalid(two, weights: [.greatestFiniteMagnitude, .greatestFiniteMagnitude], mentioning: ["sum"])
        #expect(throws: Never.self) { try sample(from: two, weights: [0, 1e-300]) }
    }

    /// The bounds `[low, high]` of the central 99% of Binomial(`trials`, `probability`):
    /// `P(X < low) <= 0.5%` and `P(X > high) <= 0.5%`, from the exact probabilities (log-gamma).
    static func binomial99Interval(trials: Int, probability p: Double) -> ClosedRange<Int> {
        let n = Double(trials)
        let sigma = (n * p * (1 - p)).squareRoot()
        let start = Swift.max(0, Int(n * p - 12 * sigma)), end = Swift.min(trials, Int(n * p + 12 * sigma) + 1)
        func probabilityOf(_ k: Int) -> Double {
            let k = Double(k)
            let logChoose: Double = lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)
            let logPowers: Double = k * log(p) + (n - k) * log1p(-p)
            return exp(logChoose + logPowers)
        }
        var cumulative = 0.0, low: Int?, high = end
        for k in start...end {
            cumulative += probabilityOf(k)
            if low == nil, cumulative >= 0.005 { low = k }
            if cumulative >= 0.995 { high = k; break }
        }
        return low!...high
    }

    @Test func theIntervalIsTheBinomialOne() {
        // Independent checks of the helper: the normal approximation's 99% interval
        // (mean ± 2.576 sd) for a large count, and an exact small case.
        let interval = Self.binomial99Interval(trials: 100_000, probability: 0.3)
        let sd = (100_000 * 0.3 * 0.7).squareRoot()
        #expect(abs(Double(interval.lowerBound) - (30_000 - 2.5758 * sd)) <= 2)
        #expect(abs(Double(interval.upperBound) - (30_000 + 2.5758 * sd)) <= 2)
        // Binomial(10, 0.5): P(X <= 0) = 0.00098, P(X <= 1) = 0.0107; P(X <= 8) = 0.989, P(X <= 9) = 0.99902.
        #expect(Self.binomial99Interval(trials: 10, probability: 0.5) == 1...9)
    }

    @Test(arguments: [
        (weights: [0.5, 0.3, 0.15, 0.05], seed: UInt64(20_261_206)),
        (weights: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], seed: UInt64(15)),
        (weights: [3, 0, 1], seed: UInt64(7)),
    ])
    func proportionsFallInsideThe99PercentBinomialInterval(weights: [Double], seed: UInt64) throws {
        let draws = 200_000
        let mixed = try sample(from: Self.taggedForever(weights.count), weights: weights, seed: seed)
        var counts = [Int](repeating: 0, count: weights.count)
        var iterator = mixed.makeIterator()
        for _ in 0..<draws { counts[try iterator.next()!] += 1 }
        let total = weights.reduce(0, +)
        for (source, weight) in weights.enumerated() {
            if weight == 0 {
                #expect(counts[source] == 0, "source \(source) has weight 0")
                continue
            }
            let interval = Self.binomial99Interval(trials: draws, probability: weight / total)
            #expect(interval.contains(counts[source]),
                    "source \(source): \(counts[source]) draws, the 99% interval is \(interval)")
        }
    }

    @Test func aSeedGivesOneOrderPerEpochOnEveryRun() throws {
        let sources = Self.taggedForever(3)
        let a = try sample(from: sources, weights: [1, 1, 1], seed: 42)
        let b = try sample(from: sources, weights: [1, 1, 1], seed: 42)
        let other = try sample(from: sources, weights: [1, 1, 1], seed: 43)
        #expect(try a.collect(limit: 64) == b.collect(limit: 64))
        #expect(try a.collect(limit: 64) != other.collect(limit: 64))
        #expect(try a.collect(limit: 64, epoch: 0) != a.collect(limit: 64, epoch: 1))
        // The generator is derived by hashing (seed, label, epoch): pinned so a change is noticed.
        var expected = SplitMix64(seed: SplitMix64.derivedSeed(42, 0x73_61_6D_70_6C_65, 0))
        let reference = (0..<64).map { _ in Int(expected.nextUniform() * 3) }
        #expect(try a.collect(limit: 64) == reference)
        let unseeded = try sample(from: sources)
        let again = try sample(from: sources, seed: unseeded.seed)
        #expect(try unseeded.collect(limit: 32) == again.collect(limit: 32))
    }

    /// `fixtures/golden/sample-orders.json`, written by `fixtures/golden/make_sample_orders.py`
    /// (plain Python: SplitMix64, the seed derivation and the documented draw), pins the orders.
    @Test func matchesTheGoldenOrdersComputedInPython() throws {
        struct Fixture: Decodable {
            struct Case: Decodable {
                let name: String
                let weights: [Double]
                let seed: String
                let stopping: SampleStopping
                let epoch: UInt64
                let order: [Int]
            }
            let cases: [Case]
        }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/golden/sample-orders.json")
        let cases = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url)).cases
        let three = [RangeDataset(0..<50), RangeDataset(1_000..<1_030), RangeDataset(2_000..<2_020)]
        let sources: [String: [AnyDataset<Int>]] = [
            "three sources, first exhausted": three.map { $0.eraseToAnyDataset() },
            "three sources, reweighted": three.map { $0.eraseToAnyDataset() },
            "three sources, reweighted, epoch 3": three.map { $0.eraseToAnyDataset() },
            "weights of 0 around two sources": [RangeDataset(0..<5), RangeDataset(100..<140), RangeDataset(200..<240),
                                                RangeDataset(300..<305)].map { $0.eraseToAnyDataset() },
            "a shuffled source, epoch 1": [RangeDataset(0..<30).shuffle(bufferSize: 8, seed: 5).eraseToAnyDataset(),
                                           RangeDataset(1_000..<1_020).eraseToAnyDataset()],
        ]
        #expect(cases.count == sources.count)
        for testCase in cases {
            let mixed = try sample(from: try #require(sources[testCase.name]), weights: testCase.weights,
                                   seed: UInt64(testCase.seed), stopping: testCase.stopping)
            #expect(try mixed.collect(epoch: testCase.epoch) == testCase.order, "\(testCase.name)")
        }
    }

    @Test func theDocumentedExamples() throws {
        let web = RangeDataset(0..<1_000), books = RangeDataset(1_000..<1_200)
        #expect(try sample(from: [web, books], weights: [0.8, 0.2], seed: 4).collect(limit: 10)
                == [0, 1_000, 1, 2, 3, 4, 5, 1_001, 6, 7])
        let files = [RangeDataset(0..<100), RangeDataset(100..<200), RangeDataset(200..<300)]
        let mix = try sample(from: files, weights: [2, 1, 1], seed: 42, stopping: .reweightRemaining)
        #expect(mix.cardinality == .finite(300))
        #expect(try mix.collect().sorted() == Array(0..<300))
    }

    @Test func edgeCasesAndCardinality() throws {
        // A single source: its elements in order, its cardinality.
        let single = try sample(from: [RangeDataset(0..<5)], seed: 1)
        #expect(try single.collect() == [0, 1, 2, 3, 4])
        #expect(single.cardinality == .finite(5))
        // All weights 0 but one: only that source, never reading the others.
        let poisoned = GeneratorDataset { (index: Int) throws -> Int? in throw Boom(at: index) }.eraseToAnyDataset()
        let oneLeft = try sample(from: [poisoned, RangeDataset(0..<4).eraseToAnyDataset(), poisoned],
                                 weights: [0, 2, 0], seed: 9)
        #expect(try oneLeft.collect() == [0, 1, 2, 3])
        #expect(oneLeft.cardinality == .finite(4))
        // A source empty from the start ends the pass when drawn (firstExhausted) ...
        let withEmpty = [RangeDataset(0..<0), RangeDataset(0..<1_000)]
        let stopped = try sample(from: withEmpty, seed: 3).collect()
        #expect(stopped == Array(0..<stopped.count) && stopped.count < 1_000)
        #expect(try sample(from: withEmpty, seed: 3).cardinality == .unknown)
        // ... and is dropped from the draws (reweightRemaining).
        let reweighted = try sample(from: withEmpty, seed: 3, stopping: .reweightRemaining)
        #expect(try reweighted.collect() == Array(0..<1_000))
        #expect(reweighted.cardinality == .finite(1_000))
        // Only empty sources: an empty pass.
        #expect(try sample(from: [RangeDataset(0..<0)], seed: 1, stopping: .reweightRemaining).collect().isEmpty)
        // Infinite sources.
        #expect(try sample(from: Self.taggedForever(2), seed: 1).cardinality == .infinite)
        let finiteAndInfinite = [RangeDataset(0..<3).eraseToAnyDataset(), RangeDataset(5..<6).repeat().eraseToAnyDataset()]
        #expect(try sample(from: finiteAndInfinite, seed: 1).cardinality == .unknown)
        #expect(try sample(from: finiteAndInfinite, seed: 1, stopping: .reweightRemaining).cardinality == .infinite)
        let unknown = [RangeDataset(0..<3).filter { _ in true }.eraseToAnyDataset(), RangeDataset(3..<6).eraseToAnyDataset()]
        #expect(try sample(from: unknown, seed: 1, stopping: .reweightRemaining).cardinality == .unknown)
    }

    @Test func firstExhaustedStopsAtTheFirstEmptyDraw() throws {
        let sources = [RangeDataset(0..<3), RangeDataset(100..<1_100)]
        let out = try sample(from: sources, weights: [1, 1], seed: 11).collect()
        // Source 0 was drawn a fourth time and found empty: all three of its elements came out,
        // each source in its own order, and the pass ended long before source 1 did.
        #expect(out.filter { $0 < 100 } == [0, 1, 2])
        let fromSecond = out.filter { $0 >= 100 }
        #expect(fromSecond == Array(100..<(100 + fromSecond.count)))
        #expect(fromSecond.count < 100)
        // Which draws those were is the seeded sequence: replay it from the documented stream.
        var rng = SplitMix64(seed: SplitMix64.derivedSeed(11, 0x73_61_6D_70_6C_65, 0))
        var expected: [Int] = [], taken = [0, 0]
        while true {
            let source = rng.nextUniform() * 2 < 1 ? 0 : 1
            if source == 0 && taken[0] == 3 { break }
            expected.append(source == 0 ? taken[0] : 100 + taken[1])
            taken[source] += 1
        }
        #expect(out == expected)
    }

    @Test func reweightRemainingYieldsEveryElementOnce() throws {
        let sources = [RangeDataset(0..<5), RangeDataset(100..<150), RangeDataset(1_000..<1_500)]
        let mixed = try sample(from: sources, weights: [1, 1, 1], seed: 5, stopping: .reweightRemaining)
        let out = try mixed.collect()
        #expect(out.count == 555 && mixed.cardinality == .finite(555))
        #expect(out.sorted() == Array(0..<5) + Array(100..<150) + Array(1_000..<1_500))
        #expect(out.filter { $0 >= 1_000 } == Array(1_000..<1_500))
        // While all three are drawn from, each has a third of the draws: the short one ends early.
        #expect(out.prefix(40).contains { $0 < 5 })
    }

    /// A draw of exactly 0 (SplitMix64 outputs 0 from the state `-golden ratio`, since the mixer
    /// maps 0 to 0) must not pick a leading source of weight 0, nor a top draw a trailing one.
    @Test func boundaryDrawsNeverPickASourceOfWeightZero() throws {
        let mixed = try sample(from: [RangeDataset(0..<1), RangeDataset(1..<2), RangeDataset(2..<3)],
                               weights: [0, 1, 0], seed: 1)
        var iterator = mixed.makeIterator()
        iterator.rng = SplitMix64(state: 0 &- 0x9E37_79B9_7F4A_7C15)
        #expect(iterator.rng.nextUniform() == 0)
        iterator.rng = SplitMix64(state: 0 &- 0x9E37_79B9_7F4A_7C15)
        #expect(iterator.drawSource() == 1)
        // The total itself (a product the uniform draw can round up to): the last positive source.
        typealias Draw = Sampled<RangeDataset>.Iterator
        #expect(Draw.source(at: 1, cumulativeWeights: [0, 1, 1]) == 1)
        #expect(Draw.source(at: 3, cumulativeWeights: [1, 2, 3]) == 2)
        #expect(Draw.source(at: 0.999, cumulativeWeights: [1, 2, 3]) == 0)
        #expect(Draw.source(at: 1, cumulativeWeights: [1, 2, 3]) == 1)
    }

    /// A small pipeline of mixed sources: a shuffle (whose state changes shape, so it is kept
    /// whole), a map over a range, a source empty from the start and one of weight 0.
    static func mixedSources() -> [AnyDataset<Int>] {
        [RangeDataset(0..<7).eraseToAnyDataset(),
         RangeDataset(100..<120).shuffle(bufferSize: 4, seed: 3).eraseToAnyDataset(),
         RangeDataset(0..<0).eraseToAnyDataset(),
         RangeDataset(200..<209).map { $0 }.eraseToAnyDataset(),
         RangeDataset(300..<400).eraseToAnyDataset()]
    }

    @Test(arguments: [SampleStopping.firstExhausted, .reweightRemaining])
    func resumesExactlyFromEveryPosition(stopping: SampleStopping) throws {
        let mixed = try sample(from: Self.mixedSources(), weights: [3, 2, 0.01, 1, 0], seed: 77, stopping: stopping)
        for epoch: UInt64 in [0, 4] {
            let total = try mixed.collect(epoch: epoch).count
            #expect(total > 5)
            // Cuts up to one past the end: a state saved after the pass ended resumes ended.
            try expectResumesExactly(mixed, total: total + 2, cuts: Array(0...total + 1), epoch: epoch)
            try expectStateRoundTrips(mixed, cuts: Array(0...total + 1), epoch: epoch)
        }
        let pipeline = mixed.batch(3).repeat(2)
        let batches = try pipeline.collect().count
        try expectResumesExactly(pipeline, total: batches + 2, cuts: Array(0...batches + 1), key: { $0 })
    }

    @Test func refusesAStateOfAnotherConfigurationNamingWhatDiffers() throws {
        let sources = Self.mixedSources()
        let reference = try sample(from: sources, weights: [3, 2, 1, 1, 1], seed: 77)
        func expectRefused<D: Dataset>(_ other: D, parameter: String, saved: String, current: String,
                                       sourceLocation: SourceLocation = #_sourceLocation) throws {
            try expectMismatch(saving: reference, after: 4, into: other, stage: "sample", parameter: parameter,
                               saved: saved, current: current, sourceLocation: sourceLocation)
        }
        try expectRefused(try sample(from: sources, weights: [3, 2, 1, 1, 2], seed: 77), parameter: "weights",
                          saved: "[3.0, 2.0, 1.0, 1.0, 1.0]", current: "[3.0, 2.0, 1.0, 1.0, 2.0]")
        try expectRefused(try sample(from: sources, weights: [3, 2, 1, 1, 1], seed: 78), parameter: "seed",
                          saved: "77", current: "78")
        try expectRefused(try sample(from: Array(sources.prefix(4)), weights: [3, 2, 1, 1], seed: 77),
                          parameter: "sources", saved: "5", current: "4")
        try expectRefused(try sample(from: sources, weights: [3, 2, 1, 1, 1], seed: 77, stopping: .reweightRemaining),
                          parameter: "stopping", saved: "firstExhausted", current: "reweightRemaining")
        // A source built differently (a shuffle seed, a range): refused by the digest of their settings.
        var changed = sources
        changed[1] = RangeDataset(100..<120).shuffle(bufferSize: 4, seed: 4).eraseToAnyDataset()
        changed[4] = RangeDataset(300..<401).eraseToAnyDataset()
        let savedDigest = PackedSourceStates.digest(sources.map { $0.makeIterator().state })
        let currentDigest = PackedSourceStates.digest(changed.map { $0.makeIterator().state })
        #expect(savedDigest != currentDigest)
        try expectRefused(try sample(from: changed, weights: [3, 2, 1, 1, 1], seed: 77), parameter: "sourceSettings",
                          saved: savedDigest, current: currentDigest)
        // Long weight lists are compared by digest.
        let many = Self.taggedForever(100)
        var iterator = try sample(from: many, seed: 1).makeIterator()
        _ = try pull(&iterator, 10)
        let state = iterator.state
        #expect(state.parameters?["weights"]?.hasPrefix("fnv1a64:") == true)
        var reweighted = [Double](repeating: 1, count: 100)
        reweighted[99] = 2
        #expect(throws: DatasetError.self) {
            _ = try sample(from: many, weights: reweighted, seed: 1).makeIterator(resumingFrom: state)
        }
        #expect(throws: Never.self) { _ = try sample(from: many, seed: 1).makeIterator(resumingFrom: state) }
    }

    @Test func theStateOf100SourcesIsAtMostOneKilobyte() throws {
        let sources = (0..<100).map { RangeDataset($0 * 10_000..<($0 + 1) * 10_000) }
        let weights = (0..<100).map { 1 + Double($0 % 7) }
        let mixed = try sample(from: sources, weights: weights, seed: 2026, stopping: .reweightRemaining)
        var iterator = mixed.makeIterator()
        _ = try pull(&iterator, 300_000)   // about 3,000 elements into each source
        let bytes = try iterator.state.encoded()
        #expect(bytes.count <= 1_024, "the state of 100 sources is \(bytes.count) bytes")
        let expected = try pull(&iterator, 1_000)
        var resumed = try mixed.makeIterator(resumingFrom: IteratorState(encoded: bytes))
        #expect(try pull(&resumed, 1_000) == expected)
    }

    @Test("the state of 100 sources stays within 1 KB when every source is a million elements in")
    func theStateOf100SourcesWithLargePositionsIsAtMostOneKilobyte() throws {
        let size = 2_000_000
        let sources = (0..<100).map { RangeDataset($0 * size..<($0 + 1) * size) }
        let mixed = try sample(from: sources, seed: 2026, stopping: .reweightRemaining)
        // Pulling 100 million elements takes minutes in a debug build: lay large positions onto
        // a fresh state instead, as a long run would have left them.
        let positions = (0..<100).map { 1_000_000 + $0 * 9_973 }
        var fresh = mixed.makeIterator().state
        let skeletons = sources.map { $0.makeIterator().state }
        let moved = zip(skeletons, positions).map { skeleton, position in
            var state = skeleton
            state.counters = [position]
            return state
        }
        fresh.children = [PackedSourceStates.pack(moved, skeletons: skeletons)]
        var iterator = try mixed.makeIterator(resumingFrom: IteratorState(encoded: fresh.encoded()))
        let drawn = try pull(&iterator, 1_000)
        #expect(drawn.allSatisfy { $0 % size >= positions[$0 / size] }, "every source continues at its position")
        let bytes = try iterator.state.encoded()
        #expect(bytes.count <= 1_024, "the state of 100 sources at 7-digit positions is \(bytes.count) bytes")
        let expected = try pull(&iterator, 1_000)
        var resumed = try mixed.makeIterator(resumingFrom: IteratorState(encoded: bytes))
        #expect(try pull(&resumed, 1_000) == expected)
    }
}
