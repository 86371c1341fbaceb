import Testing
@testable import Tensors

@Suite struct SplitMix64Tests {
    /// Reference values of SplitMix64 seeded with 0 (from the published C implementation).
    @Test func matchesTheReferenceStreamForSeedZero() {
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(rng.next() == 0x06C4_5D18_8009_454F)
    }

    @Test func restoringTheStateContinuesTheSameStream() {
        var a = SplitMix64(seed: 18)
        _ = (0..<37).map { _ in a.next() }
        var b = SplitMix64(state: a.state)
        #expect((0..<10).map { _ in a.next() } == (0..<10).map { _ in b.next() })
    }

    @Test func boundedDrawsAreInRangeAndRoughlyUniform() {
        var rng = SplitMix64(seed: 7)
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0..<60_000 { counts[rng.nextIndex(below: 6)] += 1 }
        // chi-square with 5 dof; 20.5 is the 0.999 quantile
        let chi2 = counts.reduce(0.0) { $0 + pow2(Double($1) - 10_000) / 10_000 }
        #expect(chi2 < 20.5)
    }

    @Test func derivedSeedsDifferForDifferentLabels() {
        #expect(SplitMix64.derivedSeed(18, 0) != SplitMix64.derivedSeed(18, 1))
        #expect(SplitMix64.derivedSeed(18, 1) != SplitMix64.derivedSeed(19, 0))
        // The order of labels matters; exact values are pinned by GoldenSplitMix64Tests.
        #expect(SplitMix64.derivedSeed(18, 1, 2) != SplitMix64.derivedSeed(18, 2, 1))
    }

    @Test func normalDrawsHaveUnitMomentsAndUniformsStayInRange() {
        var rng = SplitMix64(seed: 3)
        let n = 100_000
        var sum = 0.0, sumSq = 0.0
        for _ in 0..<n { let z = rng.nextNormal(); sum += z; sumSq += z * z }
        #expect(abs(sum / Double(n)) < 0.02)
        #expect(abs(sumSq / Double(n) - 1) < 0.02)
        for _ in 0..<1000 { let u = rng.nextUniformFloat(); #expect(u >= 0 && u < 1) }
    }

    /// Skipping ahead lands where drawing would: draw n of a stream without the ones before it.
    @Test func advancingSkipsExactlyTheGivenDraws() {
        var drawn = SplitMix64(seed: 77)
        var stream: [UInt64] = []
        for _ in 0..<40 { stream.append(drawn.next()) }
        for skip in [0, 1, 17, 39] {
            var skipped = SplitMix64(seed: 77).advanced(by: UInt64(skip))
            #expect(skipped.next() == stream[skip], "after \(skip) draws")
        }
        #expect(SplitMix64(seed: 77).advanced(by: 40) == drawn)
    }
}

private func pow2(_ x: Double) -> Double { x * x }
