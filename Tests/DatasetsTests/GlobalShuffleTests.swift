import Foundation
import Testing
@testable import Datasets
import Tensors

/// The global shuffle's permutation: a bijection for every size, uniform positions, epochs
/// independent of each other, and a state of a few integers at any size. Every test uses fixed
/// seeds, so a statistic either passes or fails on every run; the bounds are set at a
/// significance of 0.001 (a truly random permutation exceeds them once in a thousand seeds sets).
@Suite struct GlobalShuffleTests {
    static func order(_ n: Int, seed: UInt64, epoch: UInt64 = 0) throws -> [Int] {
        try RangeDataset(0..<n).globalShuffle(seed: seed).collect(epoch: epoch)
    }

    @Test(arguments: [1, 2, 3, 4, 5, 7, 8, 13, 16, 31, 32, 64, 97, 127, 128, 1000, 1024, 4099, 65_536])
    func everyIndexExactlyOnce(_ n: Int) throws {
        for seed: UInt64 in [0, 1, 18, .max] {
            for epoch: UInt64 in [0, 1, 7] {
                let order = try Self.order(n, seed: seed, epoch: epoch)
                #expect(order.count == n)
                #expect(order.sorted() == Array(0..<n), "n \(n) seed \(seed) epoch \(epoch)")
            }
        }
    }

    @Test func aHugeDomainMapsDistinctIndicesIntoRange() throws {
        let n = 1_000_000_000_000
        let permutation = FeistelPermutation(count: n, seed: 3)
        let images = (0..<20_000).map { permutation[$0 * 49_999_991 % n] }
        #expect(images.allSatisfy { (0..<n).contains($0) })
        #expect(Set(images).count == images.count)
        #expect(Set(images.map { $0 / (n / 10) }).count == 10, "images spread over the whole range")
    }

    /// The batch path computes four images side by side; it must give the one-by-one images,
    /// including the cycle-walking steps (frequent for small n) and a tail of 1-3 indices.
    @Test func imagesOfABatchAreTheImagesOneByOne() {
        for n in [1, 3, 4, 5, 17, 1_000, 60_000] {
            let permutation = FeistelPermutation(count: n, seed: 9)
            for indices in [Array(0..<n), Array((0..<n).reversed().prefix(7)), [], [n - 1]] {
                #expect(permutation.images(of: indices) == indices.map { permutation[$0] }, "n \(n), \(indices.count) indices")
            }
        }
    }

    /// For n = 10 (and 7) over 5,000 seeds, the table of (element, position) counts: each cell
    /// expects 5,000 / n. Every seed adds a permutation matrix, whose rows and columns each sum
    /// to 1, so Pearson's statistic over the n^2 cells is n / (n - 1) times a chi-square with
    /// (n - 1)^2 degrees of freedom (its mean is n (n - 1)); the bound is n / (n - 1) times
    /// chi2.ppf(0.999, (n - 1)^2) from scipy: 10/9 * 126.08 and 7/6 * 67.99. (The identity
    /// order would give 450,000.)
    @Test(arguments: [10, 7])
    func positionsAreUniform(_ n: Int) throws {
        let seeds = 5_000
        var table = [[Int]](repeating: [Int](repeating: 0, count: n), count: n)
        for seed in 0..<seeds {
            for (position, element) in try Self.order(n, seed: UInt64(seed)).enumerated() { table[element][position] += 1 }
        }
        let expected = Double(seeds) / Double(n)
        let statistic = table.joined().reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        let bound = Double(n) / Double(n - 1) * (n == 10 ? 126.08 : 67.99)
        #expect(statistic < bound, "chi-square \(statistic) over \(n * n) cells")
    }

    /// Large n: where element 0 and element n-1 land, in 20 equal bins, over 4,000 seeds
    /// (df = 19, chi2.ppf(0.999, 19) = 43.82).
    @Test func positionsOfALargeDatasetAreUniform() throws {
        let n = 1_000_003, bins = 20, seeds = 4_000
        for element in [0, n - 1] {
            var counts = [Int](repeating: 0, count: bins)
            for seed in 0..<seeds {
                let permutation = GloballyShuffled(base: RangeDataset(0..<n), seed: UInt64(seed)).permutation(0)
                // The position of `element` is where the inverse sends it; scan-free: test the
                // image of `element` instead, which is uniform exactly when positions are.
                counts[permutation[element] * bins / n] += 1
            }
            let expected = Double(seeds) / Double(bins)
            let statistic = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
            #expect(statistic < 43.82, "chi-square \(statistic) for element \(element)")
        }
    }

    /// Consecutive epochs of one seed behave like independent permutations: the number of
    /// indices sent to the same place is Poisson(1) per pair, so over 300 pairs Poisson(300)
    /// (99.9% interval 245...359, scipy's poisson.ppf); and the rank correlation of the two orders averages 0 with
    /// standard error 1 / sqrt(300 * (n - 1)) (bound 3.29 standard errors).
    @Test func consecutiveEpochsAreIndependent() throws {
        let n = 500, pairs = 300
        var agreements = 0, correlation = 0.0
        for seed in 0..<pairs {
            let a = try Self.order(n, seed: UInt64(seed), epoch: 4)
            let b = try Self.order(n, seed: UInt64(seed), epoch: 5)
            agreements += zip(a, b).filter { $0 == $1 }.count
            let mean = Double(n - 1) / 2
            let covariance = zip(a, b).reduce(0.0) { $0 + (Double($1.0) - mean) * (Double($1.1) - mean) }
            let variance = (0..<n).reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
            correlation += covariance / variance
        }
        #expect((245...359).contains(agreements), "\(agreements) agreements between consecutive epochs")
        let z = correlation / Double(pairs) * (Double(pairs) * Double(n - 1)).squareRoot()
        #expect(abs(z) < 3.29, "mean rank correlation z = \(z)")
    }

    @Test func epochsAndSeedsAreDerivedByHashingNotByAddition() throws {
        let a = try Self.order(100, seed: 41, epoch: 1), b = try Self.order(100, seed: 42, epoch: 0)
        #expect(a != b)
        #expect(try Self.order(100, seed: 42, epoch: 0) == b, "deterministic")
        #expect(try Self.order(100, seed: 42, epoch: 1) != b, "a new order per epoch")
        // The documented construction: pass e is keyed by SplitMix64.derivedSeed(seed, e).
        let keyed = FeistelPermutation(count: 100, seed: SplitMix64.derivedSeed(42, 3))
        #expect(try Self.order(100, seed: 42, epoch: 3) == (0..<100).map { keyed[$0] })
    }

    @Test func theBufferedShuffleIsUnchangedAndDiffers() throws {
        // The buffered shuffle keeps its own (golden-pinned) order; the global one is another.
        let buffered = try RangeDataset(0..<50).shuffle(bufferSize: 50, seed: 9).collect()
        let global = try RangeDataset(0..<50).globalShuffle(seed: 9).collect()
        #expect(buffered != global)
        #expect(buffered.sorted() == global.sorted())
    }

    /// The state of a shuffled, sharded, batched pipeline over 10^9 rows, at the last batch of
    /// the largest epoch number, encodes to at most 256 bytes (what the issue asks).
    @Test func theStateIsAFewIntegersAtABillionRows() throws {
        let n = 1_000_000_000
        let pipeline = RangeDataset(0..<n).globalShuffle(seed: .max).shard(count: 4, index: 3).batch(256)
            .map { $0.count }
        var it = pipeline.makeIterator(epoch: .max)
        let first = try #require(try it.next())
        #expect(first == 256)
        let last = pipeline.count - 1
        let state = IteratorState(kind: "randomAccess", counters: [last, n - 1024], seeds: [.max],
                                  parameters: it.state.parameters)
        var resumed = try pipeline.makeIterator(resumingFrom: state)
        #expect(try resumed.next() != nil)
        let bytes = try resumed.state.encoded()
        #expect(bytes.count <= 256, "\(bytes.count) bytes: \(String(decoding: bytes, as: UTF8.self))")
        #expect(try it.state.encoded().count <= 256)
    }

    @Test func resumesExactlyAcrossEpochsAndRepeats() throws {
        let data = RangeDataset(0..<37).globalShuffle(seed: 11)
        try expectResumesExactly(data, total: 37, cuts: [0, 1, 19, 36, 37], epoch: 3)
        try expectResumesExactly(data.repeat(3).batch(5), total: 23, cuts: [0, 7, 8, 22], epoch: 2)
        try expectResumesExactly(data.repeat().batch(4).prefetch(2), total: 40, cuts: [9, 10, 31])
        // repeat gives each pass its own permutation, with the streaming repeat's pass epochs.
        let passes = try data.repeat(2).collect(epoch: 5)
        #expect(Array(passes[..<37]) == (try data.collect(epoch: Repeated<RangeDataset>.passEpoch(5, 0))))
        #expect(Array(passes[37...]) == (try data.collect(epoch: Repeated<RangeDataset>.passEpoch(5, 1))))
    }

    struct Golden: Decodable {
        struct Case: Decodable { let n: Int, seed: UInt64, epoch: UInt64, order: [Int], weighted_sum: Int }
        struct RepeatCase: Decodable { let n: Int, seed: UInt64, passes: Int, epoch: UInt64, order: [Int] }
        let cases: [Case]
        let `repeat`: RepeatCase
    }

    /// The orders equal those of an independent Python implementation of the documented
    /// construction (`fixtures/golden/make_global_shuffle_golden.py`), so the construction is
    /// what the comments say and any change of these seeded orders is visible.
    @Test func ordersEqualTheGoldenFixture() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/golden/global-shuffle-orders.json")
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        #expect(golden.cases.count == 8)
        for c in golden.cases {
            let order = try Self.order(c.n, seed: c.seed, epoch: c.epoch)
            #expect(Array(order.prefix(c.order.count)) == c.order, "n \(c.n) seed \(c.seed) epoch \(c.epoch)")
            #expect(order.enumerated().reduce(0) { $0 + $1.offset * $1.element } == c.weighted_sum)
        }
        let r = golden.repeat
        #expect(try RangeDataset(0..<r.n).globalShuffle(seed: r.seed).repeat(r.passes).collect(epoch: r.epoch) == r.order)
    }
}
