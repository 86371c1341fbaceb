@testable import Distributed
import Testing
import Training

/// The reductions in a world of one, against independent references.
@Suite struct LocalReductionTests {
    static func reducer(rows: Int, microShards: Int, mode: ReductionMode) throws -> GlobalBatchReducer {
        let world = try Communicator.world(environment: [:])
        return try GlobalBatchReducer(communicator: world, plan: MicroShardPlan(globalBatchSize: rows, microShardCount: microShards,
                                                                               rankCount: 1), mode: mode)
    }

    @Test(arguments: ReductionMode.allCases)
    func columnSumsMatchADoubleReference(mode: ReductionMode) throws {
        let width = 5, rows = 64
        let data = TestData.floats(rows * width, seed: 11)
        let sums = try Self.reducer(rows: rows, microShards: 8, mode: mode).sumRows(data, width: width)
        for (sum, reference) in zip(sums, TestData.columnSums(data, width: width)) {
            #expect(abs(Double(sum) - reference) <= 1e-5 * max(1, abs(reference)))
        }
    }

    /// Ordered mode is, by definition, a per-micro-shard row-order sum folded left in
    /// micro-shard order; computed here independently of the reducer.
    @Test func orderedModeAddsMicroShardSumsInMicroShardOrder() throws {
        let width = 3, rows = 40, microShards = 8
        let data = TestData.floats(rows * width, seed: 5)
        let plan = try MicroShardPlan(globalBatchSize: rows, microShardCount: microShards, rankCount: 1)
        var expected = [Float](repeating: 0, count: width)
        for shard in 0..<microShards {
            var partial = [Float](repeating: 0, count: width)
            for row in plan.rows(ofMicroShard: shard) {
                for column in 0..<width { partial[column] += data[row * width + column] }
            }
            if shard == 0 { expected = partial } else { for column in 0..<width { expected[column] += partial[column] } }
        }
        let sums = try Self.reducer(rows: rows, microShards: microShards, mode: .ordered).sumRows(data, width: width)
        #expect(TestData.bits(sums) == TestData.bits(expected))
    }

    @Test(arguments: ReductionMode.allCases)
    func wrongLengthsThrowNamingTheShapes(mode: ReductionMode) throws {
        let reducer = try Self.reducer(rows: 4, microShards: 2, mode: mode)
        #expect(throws: DistributedError.shapeMismatch(operation: "sumRows(_:width:)", expected: 12, actual: 11)) {
            try reducer.sumRows([Float](repeating: 1, count: 11), width: 3)
        }
        #expect(throws: DistributedError.shapeMismatch(operation: "sum(microShardSums:width:)", expected: 6, actual: 3)) {
            try reducer.sum(microShardSums: [[Float(1), 2, 3]], width: 3)
        }
    }

    @Test func aPlanForAnotherWorldSizeIsRefused() throws {
        let world = try Communicator.world(environment: [:])
        #expect(throws: DistributedError.invalidPlan(reason: "plan is for 2 ranks, the world has 1")) {
            try GlobalBatchReducer(communicator: world, plan: MicroShardPlan(globalBatchSize: 4, microShardCount: 2, rankCount: 2),
                                   mode: .ordered)
        }
    }

    /// Two-pass statistics and the backward sums against a Double reference over all rows.
    @Test func synchronizedBatchNormMatchesADoubleReference() throws {
        let features = 6, rows = 64
        // Values 1000 ± 1: E[x²] − E[x]² would cancel away the variance in Float.
        let x = TestData.floats(rows * features, seed: 21, offset: 1000, exponents: -1...0)
        let dy = TestData.floats(rows * features, seed: 22)
        let reducer = try Self.reducer(rows: rows, microShards: 8, mode: .ordered)
        let moments = try SynchronizedBatchNorm.moments(of: x, features: features, reducer: reducer)
        let sums = try SynchronizedBatchNorm.gradientSums(of: x, upstream: dy, mean: moments.mean, features: features, reducer: reducer)
        let reference = BatchNormReference(x: x, dy: dy, features: features)
        for feature in 0..<features {
            #expect(abs(Double(moments.mean[feature]) - reference.mean[feature]) <= 1e-6 * abs(reference.mean[feature]))
            #expect(abs(Double(moments.variance[feature]) - reference.variance[feature]) <= 1e-3 * reference.variance[feature])
            #expect(abs(Double(sums.sumDy[feature]) - reference.sumDy[feature]) <= 1e-4 * max(1, abs(reference.sumDy[feature])))
            #expect(abs(Double(sums.sumDyXmu[feature]) - reference.sumDyXmu[feature]) <= 1e-3 * max(1, abs(reference.sumDyXmu[feature])))
        }
        #expect(moments.count == rows)
    }

    @Test func batchNormRefusesAnEmptyGlobalBatchAndMismatchedUpstream() throws {
        let empty = try Self.reducer(rows: 0, microShards: 2, mode: .ordered)
        #expect(throws: DistributedError.invalidPlan(reason: "BatchNormalization statistics of an empty global batch")) {
            try SynchronizedBatchNorm.moments(of: [Float](), features: 2, reducer: empty)
        }
        let reducer = try Self.reducer(rows: 2, microShards: 2, mode: .ordered)
        #expect(throws: DistributedError.shapeMismatch(operation: "gradientSums: upstream", expected: 4, actual: 3)) {
            try SynchronizedBatchNorm.gradientSums(of: [Float](repeating: 1, count: 4), upstream: [1, 2, 3], mean: [0, 0],
                                                   features: 2, reducer: reducer)
        }
    }

    /// Fast mode's one-round merge (`mergeMoments`) in a world of one, against the closed form:
    /// rows {1, 1; 3, 3, 3, 3} have mean 7/3 and Σ(x − mean)² = 2·(4/3)² + 4·(2/3)² + the
    /// segments' own centred sums; a segment of the wrong width is refused, naming the operation.
    @Test func fastModeMergesMomentsInOneRoundAndRefusesAWrongWidth() throws {
        let reducer = try Self.reducer(rows: 6, microShards: 2, mode: .fast)
        #expect(reducer.mergesMomentsInOneRound)
        let a = SegmentMoments(count: 2, mean: [1, 2], centredSums: [0, 0], centredSquares: [0.5, 2])
        let b = SegmentMoments(count: 4, mean: [3, -1], centredSums: [0, 0], centredSquares: [1, 4])
        let merged = try reducer.mergeMoments([a, b], width: 2)
        let mean: Double = 14.0 / 6
        let (below, above): (Double, Double) = (1 - mean, 3 - mean)
        let expectedMean: [Double] = [mean, 0]
        let expectedSquares: [Double] = [1.5 + 2 * below * below + 4 * above * above, 6 + 2 * 4 + 4 * 1]
        for column in 0..<2 {
            #expect(abs(Double(merged.mean[column]) - expectedMean[column]) <= 1e-6)
            #expect(abs(Double(merged.centredSquares[column]) - expectedSquares[column]) <= 1e-5 * expectedSquares[column])
        }
        let wrong = SegmentMoments(count: 4, mean: [3, -1, 0], centredSums: [0, 0, 0], centredSquares: [1, 4, 0])
        #expect(throws: DistributedError.shapeMismatch(operation: "mergeMoments(_:width:)", expected: 4, actual: 5)) {
            try reducer.mergeMoments([a, wrong], width: 2)
        }
    }
}

/// Mean, biased variance, Σdy and Σdy·(x − mean) in Double over all rows.
struct BatchNormReference {
    var mean: [Double], variance: [Double], sumDy: [Double], sumDyXmu: [Double]

    init(x: [Float], dy: [Float], features: Int) {
        let rows = Double(x.count / features)
        mean = [Double](repeating: 0, count: features)
        for (index, value) in x.enumerated() { mean[index % features] += Double(value) / rows }
        variance = [Double](repeating: 0, count: features)
        sumDy = variance
        sumDyXmu = variance
        for index in x.indices {
            let feature = index % features, centred = Double(x[index]) - mean[feature]
            variance[feature] += centred * centred / rows
            sumDy[feature] += Double(dy[index])
            sumDyXmu[feature] += Double(dy[index]) * centred
        }
    }
}
