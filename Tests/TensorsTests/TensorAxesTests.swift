import Testing
@testable import Tensors

@Suite struct TensorAxesTests {
    /// A rank-4 tensor whose scalar at [a, b, c, d] is the number abcd in base 10.
    static let digits: Tensor<Double> = {
        var x = Tensor<Double>(zeros: [2, 3, 4, 5])
        for a in 0..<2 { for b in 0..<3 { for c in 0..<4 { for d in 0..<5 { x[a, b, c, d] = Double(a * 1000 + b * 100 + c * 10 + d) } } } }
        return x
    }()

    @Test func reshapeInfersOneDimensionAndKeepsTheScalars() throws {
        let x = Self.digits
        let flat = try x.reshaped(inferring: [2, -1])
        #expect(flat.shape == [2, 60])
        #expect(flat.scalars == x.scalars)
        #expect(try x.reshaped(inferring: [-1, 4, 5]).shape == [6, 4, 5])
        #expect(try Tensor<Float>(zeros: [0, 3]).reshaped(inferring: [-1, 3]).shape == [0, 3])
    }

    @Test func reshapeNamesBothShapesWhenCountsDiffer() {
        #expect(throws: TensorError.invalidReshape(from: [2, 3, 4, 5], to: [7, -1])) {
            try Self.digits.reshaped(inferring: [7, -1])
        }
        #expect(throws: TensorError.invalidReshape(from: [2, 3, 4, 5], to: [-1, -1])) {
            try Self.digits.reshaped(inferring: [-1, -1])
        }
        #expect(throws: TensorError.invalidReshape(from: [2, 3, 4, 5], to: [2, 3, 4, 4])) {
            try Self.digits.reshaped(inferring: [2, 3, 4, 4])
        }
        let message = TensorError.invalidReshape(from: [2, 3], to: [4]).localizedDescription
        #expect(message.contains("[2, 3]") && message.contains("[4]"))
    }

    @Test func transposeMovesEveryAxisAsThePermutationSays() throws {
        let x = Self.digits
        for permutation in [[0, 3, 1, 2], [3, 2, 1, 0], [1, 0, 2, 3], [0, 1, 3, 2], [2, 0, 3, 1]] {
            let t = try x.transposed(permutation: permutation)
            #expect(t.shape == permutation.map { x.shape[$0] })
            var mismatches = 0
            for a in 0..<t.shape[0] { for b in 0..<t.shape[1] { for c in 0..<t.shape[2] { for d in 0..<t.shape[3] {
                var source = [0, 0, 0, 0]
                for (axis, value) in zip(permutation, [a, b, c, d]) { source[axis] = value }
                if t[a, b, c, d] != x[source[0], source[1], source[2], source[3]] { mismatches += 1 }
            } } } }
            #expect(mismatches == 0, "permutation \(permutation)")
        }
        // Transposing back restores the original.
        let there = try x.transposed(permutation: [2, 0, 3, 1])
        #expect(try there.transposed(permutation: [1, 3, 0, 2]) == x)
        #expect(try Tensor<Float>(zeros: [3, 0, 2]).transposed(permutation: [2, 1, 0]).shape == [2, 0, 3])
    }

    @Test func transposeRefusesAnythingButAPermutation() {
        for bad in [[0, 1, 2], [0, 1, 2, 2], [0, 1, 2, 4], [0, 1, 2, 3, 4]] {
            #expect(throws: TensorError.invalidAxes(operation: "transpose", axes: bad, shape: [2, 3, 4, 5])) {
                try Self.digits.transposed(permutation: bad)
            }
        }
    }

    @Test func batchSlicesOfRankFourKeepTheImageShape() throws {
        let x = Self.digits
        let tail = try x.rows(1..<2)
        #expect(tail.shape == [1, 3, 4, 5])
        #expect(tail[0, 2, 3, 4] == 1234)
        #expect(x.row(1).shape == [3, 4, 5])
        #expect(try x.gatherRows([1, 0]).scalars == (try x.rows(1..<2)).scalars + (try x.rows(0..<1)).scalars)
        #expect(throws: TensorError.indexOutOfRange(operation: "rows", index: "1..<3", shape: [2, 3, 4, 5])) {
            try x.rows(1..<3)
        }
    }

    @Test func channelBroadcastingRunsOverTheLastAxisOfAnyRank() throws {
        let x = Self.digits
        let bias = Tensor<Double>([0.5, 0.25, 0.125, 1, 2])
        let shifted = try x.addingChannelVector(bias)
        let scaled = try x.multiplyingChannelVector(bias)
        for (a, b, c, d) in [(0, 0, 0, 0), (1, 2, 3, 4), (1, 0, 2, 1), (0, 2, 1, 3)] {
            #expect(shifted[a, b, c, d] == x[a, b, c, d] + bias.scalars[d])
            #expect(scaled[a, b, c, d] == x[a, b, c, d] * bias.scalars[d])
        }
        #expect(throws: TensorError.shapeMismatch(operation: "addingChannelVector", expected: [5], found: [4])) {
            try x.addingChannelVector(Tensor([1, 2, 3, 4]))
        }
        #expect(throws: TensorError.rankMismatch(operation: "sumOverChannels", expected: 1, found: [])) {
            try Tensor<Float>(scalar: 1).sumOverChannels()
        }
    }

    @Test func sumOverChannelsAddsEveryPositionOfEachChannel() throws {
        let sums = try Self.digits.sumOverChannels()
        // Channel d appears 24 times, with a·1000 + b·100 + c·10 summing to 24·(500 + 100 + 15).
        #expect(sums.shape == [5])
        let expected: [Double] = (0..<5).map { channel in Double(24 * 615 + 24 * channel) }
        #expect(sums.scalars == expected)
    }
}
