import Testing
@testable import Training

/// The epoch's running sums a snapshot carries: a mean value counted by rows, and an exact sum
/// (correct predictions) added as it is.
@Suite struct RunningSumTests {
    @Test("add(sum:weight:) adds the sum unmultiplied; add(_:weight:) multiplies the value by its weight")
    func sumsAndWeightedValues() {
        var sums = RunningSum()
        #expect(sums.mean == 0)
        sums.add(sum: 3, weight: 4)       // 3 correct of 4 rows
        sums.add(sum: 1, weight: 4)
        #expect(sums.total == 4 && sums.weight == 8 && sums.mean == 0.5)
        var values = RunningSum()
        values.add(0.75, weight: 4)        // a batch mean of 0.75 over 4 rows
        values.add(0.25, weight: 4)
        #expect(values.total == 4 && values.weight == 8 && values.mean == 0.5)
        // A sum that a multiplication by 1/weight and back would round: kept exactly.
        var exact = RunningSum(total: 0.1, weight: 3)
        exact.add(sum: 0.2, weight: 3)
        #expect(exact.total == 0.1 + 0.2 && exact.weight == 6)
    }
}
