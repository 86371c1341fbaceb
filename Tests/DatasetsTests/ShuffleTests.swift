import Testing
@testable import Datasets
import Tensors

@Suite struct ShuffleTests {
    @Test func shuffleIsAPermutationAndDeterministicForASeed() throws {
        let a = try RangeDataset(0..<100).shuffle(bufferSize: 10, seed: 18).collect()
        let b = try RangeDataset(0..<100).shuffle(bufferSize: 10, seed: 18).collect()
        let c = try RangeDataset(0..<100).shuffle(bufferSize: 10, seed: 19).collect()
        #expect(a.sorted() == Array(0..<100))
        #expect(a == b)
        #expect(a != c)
        #expect(a != Array(0..<100))
    }

    @Test func bufferOfOneIsTheIdentity() throws {
        #expect(try RangeDataset(0..<20).shuffle(bufferSize: 1, seed: 3).collect() == Array(0..<20))
    }

    @Test func outputKNeverComesFromBeyondInputKPlusBufferMinusOne() throws {
        for seed in 0..<200 as Range<UInt64> {
            let out = try RangeDataset(0..<12).shuffle(bufferSize: 4, seed: seed).collect()
            for (k, value) in out.enumerated() { #expect(value <= k + 3) }
        }
    }

    @Test func firstOutputIsUniformOverTheFirstBufferElements() throws {
        var counts = [Int](repeating: 0, count: 12)
        for seed in 0..<4_000 as Range<UInt64> {
            counts[try RangeDataset(0..<12).shuffle(bufferSize: 4, seed: seed).collect(limit: 1)[0]] += 1
        }
        #expect(counts[4...].allSatisfy { $0 == 0 })
        let chi2 = counts[0..<4].reduce(0.0) { $0 + (Double($1) - 1_000) * (Double($1) - 1_000) / 1_000 }
        #expect(chi2 < 16.27)   // 3 dof, p = 0.001
    }

    @Test func fullBufferShuffleIsUniformOverPermutations() throws {
        // N = 4, buffer 8: all 24 permutations equally likely (tf.data: chi2 24.9 on 23 dof).
        var counts: [[Int]: Int] = [:]
        let trials = 24_000
        for seed in 0..<UInt64(trials) {
            counts[try RangeDataset(0..<4).shuffle(bufferSize: 8, seed: seed).collect(), default: 0] += 1
        }
        #expect(counts.count == 24)
        let expected = Double(trials) / 24
        let chi2 = counts.values.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        #expect(chi2 < 49.7)    // 23 dof, p = 0.001
    }

    @Test func shuffleThenRepeatKeepsEpochsApartAndReshuffles() throws {
        let out = try RangeDataset(0..<5).shuffle(bufferSize: 5, seed: 42).repeat(3).collect()
        let epochs = [Array(out[0..<5]), Array(out[5..<10]), Array(out[10..<15])]
        for epoch in epochs { #expect(epoch.sorted() == Array(0..<5)) }
        #expect(Set(epochs).count > 1, "each epoch reshuffles")
    }

    @Test func repeatThenShuffleMixesEpochs() throws {
        var mixed = 0
        for seed in 0..<200 as Range<UInt64> {
            let first = try RangeDataset(0..<5).repeat(3).shuffle(bufferSize: 5, seed: seed).collect(limit: 5)
            if first.sorted() != Array(0..<5) { mixed += 1 }
        }
        #expect(mixed > 100)    // tf.data: 169 of 200
    }

    @Test func noReshuffleGivesTheSameOrderEveryPass() throws {
        let out = try RangeDataset(0..<5).shuffle(bufferSize: 5, seed: 42, reshuffleEachIteration: false)
            .repeat(3).collect()
        #expect(Array(out[0..<5]) == Array(out[5..<10]) && Array(out[5..<10]) == Array(out[10..<15]))
        #expect(out[0..<5].sorted() == Array(0..<5))
    }

    @Test func epochsDeriveTheirOrderFromSeedAndEpoch() throws {
        let data = RangeDataset(0..<50).shuffle(bufferSize: 50, seed: 7)
        #expect(try data.collect(epoch: 3) == data.collect(epoch: 3))
        #expect(try data.collect(epoch: 3) != data.collect(epoch: 4))
        // repeat() hands epoch k to its k-th pass.
        let repeated = try data.repeat(2).collect()
        #expect(Array(repeated[50...]) == (try data.collect(epoch: 1)))
    }

    @Test func unseededShuffleDrawsASeedOnceAndExposesIt() throws {
        let data = RangeDataset(0..<30).shuffle(bufferSize: 30)
        #expect(try data.collect() == data.collect())
        let replay = RangeDataset(0..<30).shuffle(bufferSize: 30, seed: data.seed)
        #expect(try replay.collect() == data.collect())
    }
}
