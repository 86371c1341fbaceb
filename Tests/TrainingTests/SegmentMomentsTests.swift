import Foundation
import Testing
import Tensors
@testable import Training

/// `SegmentMoments.merged` (Chan's merge of per-segment count, mean and centred sums), which
/// fast-mode synchronized BatchNormalization uses to take its forward statistics in one round,
/// and the segmented step's one-round path through a reducer that asks for it.
@Suite struct SegmentMomentsTests {
    /// The moments of `rows` (`width` columns, row-major) as a segment computes them: the mean
    /// first, then the centred sums around it.
    static func moments(_ rows: ArraySlice<Float>, width: Int) -> SegmentMoments {
        let count = rows.count / width
        guard count > 0 else { return .empty(width: width) }
        var mean = [Float](repeating: 0, count: width), sums = mean, centred = mean
        for (index, value) in rows.enumerated() { mean[index % width] += value }
        for j in 0..<width { mean[j] *= 1 / Float(count) }
        for (index, value) in rows.enumerated() {
            let d = value - mean[index % width]
            sums[index % width] += d
            centred[index % width] += d * d
        }
        return SegmentMoments(count: count, mean: mean, centredSums: sums, centredSquares: centred)
    }

    /// Rows around a mean of 1000 with a spread of 0.01 (variance 1e-4), cut into uneven parts
    /// with an empty one: the merged variance matches the exact one (computed in `Double` from
    /// all rows) to 1e-5 of itself, at least as closely as one process's two passes in `Float`
    /// over all rows, where `E[x²] − E[x]²` in `Float` is off by more than the variance itself.
    @Test func mergingPartsGivesTheWholeBatchsMomentsForALargeMean() {
        let width = 3, rows = 101
        var generator = SplitMix64(seed: 5)
        let values = (0..<(rows * width)).map { index in 1000 + Float(index % width) + 0.01 * Float(generator.nextNormal()) }
        let bounds = [0, 17, 17, 60, 101]
        let parts = zip(bounds, bounds.dropFirst()).map { Self.moments(values[($0 * width)..<($1 * width)], width: width) }
        let merged = SegmentMoments.merged(parts, width: width)
        #expect(merged.count == rows)
        for j in 0..<width {
            let column = stride(from: j, to: values.count, by: width).map { Double(values[$0]) }
            let mean = column.reduce(0, +) / Double(rows)
            let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(rows)
            #expect(abs(Double(merged.mean[j]) - mean) <= 1e-4, "column \(j): mean \(merged.mean[j]) against \(mean)")
            let mergedVariance = Double(merged.centredSquares[j]) / Double(rows)
            #expect(abs(mergedVariance - variance) <= 1e-5 * variance, "column \(j): variance \(mergedVariance) against \(variance)")
            let onePass = Double(Self.moments(values[...], width: width).centredSquares[j]) / Double(rows)
            #expect(abs(mergedVariance - variance) <= abs(onePass - variance) + 1e-7 * variance,
                    "column \(j): merged \(mergedVariance), one process \(onePass), exact \(variance)")
            // The cancelling formula this merge avoids, for comparison.
            let squares = stride(from: j, to: values.count, by: width).map { values[$0] * values[$0] }.reduce(0, +) / Float(rows)
            let naive = Double(squares - Float(mean) * Float(mean))
            #expect(abs(naive - variance) >= variance, "column \(j): E[x²] − E[x]² gave \(naive)")
        }
    }

    /// One part with rows among empty ones comes back bitwise as it was; no rows at all give zeros.
    @Test func aSinglePartWithRowsComesBackUnchanged() {
        let part = SegmentMoments(count: 7, mean: [0.1, -3.25], centredSums: [1e-7, -2e-6], centredSquares: [2.5, 0.125])
        #expect(SegmentMoments.merged([.empty(width: 2), part, .empty(width: 2)], width: 2) == part)
        #expect(SegmentMoments.merged([.empty(width: 2)], width: 2) == .empty(width: 2))
    }

    /// A reducer asking for the one-round merge (locally, as fast mode does across ranks).
    final class OneRoundReducer: BatchStatisticsReducer {
        let globalExampleCount: Int
        var sums: [Int] = [], merges: [Int] = []
        init(globalExampleCount: Int) { self.globalExampleCount = globalExampleCount }
        var mergesMomentsInOneRound: Bool { true }
        func sum(segmentSums: [[Float]], width: Int) throws -> [Float] {
            sums.append(width)
            return try LocalBatchStatistics(globalExampleCount: globalExampleCount).sum(segmentSums: segmentSums, width: width)
        }
        func mergeMoments(_ segments: [SegmentMoments], width: Int) throws -> (mean: [Float], centredSquares: [Float]) {
            merges.append(width)
            let merged = SegmentMoments.merged(segments, width: width)
            return (merged.mean, merged.centredSquares)
        }
    }

    /// Segments of 4, 0 and 7 rows through the one-round merge: one merge per BatchNormalization
    /// layer forward instead of two sums, and the predictions, gradients and moving statistics of
    /// the whole batch up to rounding; one segment alone is bitwise the ordinary step.
    @Test(arguments: [false, true])
    func theOneRoundStepNormalisesWithTheWholeBatchsStatistics(images: Bool) throws {
        let model = images ? try SegmentedTrainingStepTests.images() : try SegmentedTrainingStepTests.mlp()
        let (x, y) = SegmentedTrainingStepTests.batch(model, rows: 11)
        let whole = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        let reducer = OneRoundReducer(globalExampleCount: 11)
        let parts = try SegmentedTrainingStepTests.segments(x, y, bounds: [0, 4, 4, 11])
        let segmented = try model.trainingStep(segments: parts, loss: .sparseCategoricalCrossentropy, batchStatistics: reducer)
        let layers = model.layers.filter { $0 is BatchNormalization }.count
        #expect(reducer.merges.count == layers)
        #expect(reducer.sums.count == layers - (images ? 1 : 0))   // backward only, none for a first layer
        try SegmentedTrainingStepTests.expectWholeBatch(segmented, whole)
        let alone = try model.trainingStep(segments: [(x, y)], loss: .sparseCategoricalCrossentropy,
                                           batchStatistics: OneRoundReducer(globalExampleCount: 11))
        let step = try #require(alone.segments.first ?? nil)
        #expect(step.gradients == whole.gradients && step.predictions == whole.predictions && alone.stateUpdate == whole.stateUpdate)
    }
}
