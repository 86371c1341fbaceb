import Foundation
import Testing
import Tensors
@testable import Training

/// `Sequential.trainingStep(segments:loss:mode:batchStatistics:)`, the training step of
/// synchronized BatchNormalization (issue 16 item 4): segments of one batch, normalised with
/// the statistics of all of them, against the ordinary step on the whole batch.
@Suite struct SegmentedTrainingStepTests {
    static func mlp() throws -> Sequential {
        try Sequential(inputFeatures: 4, [
            Dense(units: 6, activation: .relu), BatchNormalization(momentum: 0.8), Dense(units: 3, activation: .softmax),
        ], seed: 21)
    }

    /// NHWC images: BatchNormalization's statistics span N·H·W per channel, also behind a Conv2D.
    static func images() throws -> Sequential {
        try Sequential(inputShape: [3, 3, 2], [
            BatchNormalization(momentum: 0.7),
            Conv2D(filters: 3, kernelSize: Size2D(square: 2), activation: .relu),
            BatchNormalization(), Flatten(), Dense(units: 3, activation: .softmax),
        ], seed: 4)
    }

    static func batch(_ model: Sequential, rows: Int) -> (x: Tensor<Float>, y: Tensor<Float>) {
        let x = Tensor<Float>(converting: randomTensor([rows] + model.inputShape, seed: 9, scale: 2, offset: 0.5))
        return (x, Tensor<Float>((0..<rows).map { Float(($0 * 5 + 1) % 3) }))
    }

    static func segments(_ x: Tensor<Float>, _ y: Tensor<Float>, bounds: [Int]) throws -> [(x: Tensor<Float>, y: Tensor<Float>)?] {
        try zip(bounds, bounds.dropFirst()).map { start, end in
            start == end ? nil : (try x.rows(start..<end), try y.rows(start..<end))
        }
    }

    /// Counts the reductions a step enters.
    final class CountingReducer: BatchStatisticsReducer {
        let globalExampleCount: Int
        var calls: [Int] = []
        init(globalExampleCount: Int) { self.globalExampleCount = globalExampleCount }
        func sum(segmentSums: [[Float]], width: Int) throws -> [Float] {
            calls.append(width)
            return try LocalBatchStatistics(globalExampleCount: globalExampleCount).sum(segmentSums: segmentSums, width: width)
        }
    }

    @Test(arguments: [false, true])
    func oneSegmentIsBitwiseTheOrdinaryStep(images: Bool) throws {
        let model = images ? try Self.images() : try Self.mlp()
        let (x, y) = Self.batch(model, rows: 10)
        let whole = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        let segmented = try model.trainingStep(segments: [(x, y)], loss: .sparseCategoricalCrossentropy)
        let step = try #require(segmented.segments.first ?? nil)
        #expect(step.loss == whole.loss && step.predictions == whole.predictions)
        #expect(step.gradients == whole.gradients)
        #expect(segmented.stateUpdate == whole.stateUpdate && !whole.stateUpdate.isEmpty)
    }

    /// Segments of 4, 0 and 7 rows (and a missing one): the segments' gradients add up to the
    /// whole batch's, every output and the moving statistics are the whole batch's, up to the
    /// order of additions. Ghost statistics (each segment on its own) would be far off.
    @Test(arguments: [false, true])
    func segmentsNormaliseWithTheWholeBatchsStatistics(images: Bool) throws {
        let model = images ? try Self.images() : try Self.mlp()
        let (x, y) = Self.batch(model, rows: 11)
        let whole = try model.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        var parts = try Self.segments(x, y, bounds: [0, 4, 4, 11])
        parts.append(nil)
        let segmented = try model.trainingStep(segments: parts, loss: .sparseCategoricalCrossentropy)
        #expect(segmented.segments.map { $0 != nil } == [true, false, true, false])
        let steps = segmented.segments.compactMap { $0 }
        let meanLoss = (steps[0].loss * 4 + steps[1].loss * 7) / 11
        #expect(abs(meanLoss - whole.loss) <= 1e-6)
        try Self.expectWholeBatch(segmented, whole)
        // Each segment alone (ghost batches) normalises differently.
        let ghost = try model.trainingStep(x: x.rows(0..<4), y: y.rows(0..<4), loss: .sparseCategoricalCrossentropy)
        #expect(zip(ghost.predictions.scalars, steps[0].predictions.scalars).contains { abs($0 - $1) > 1e-3 })
    }

    /// A segment whose targets do not fit still lets the step enter every reduction (so other
    /// processes would not wait for it) before it throws its error; a process with no rows
    /// enters them too. Two BatchNormalization layers: two reductions each forward, one
    /// backward for the one that is not first.
    @Test func aFailingOrEmptyProcessEntersEveryReduction() throws {
        let model = try Sequential(inputFeatures: 4, [
            BatchNormalization(), Dense(units: 5, activation: .relu), BatchNormalization(), Dense(units: 3, activation: .softmax),
        ], seed: 2)
        let (x, y) = Self.batch(model, rows: 8)
        let healthy = CountingReducer(globalExampleCount: 16)
        _ = try model.trainingStep(segments: [(x, y)], loss: .sparseCategoricalCrossentropy, batchStatistics: healthy)
        #expect(healthy.calls == [4, 4, 5, 5, 10])
        let failing = CountingReducer(globalExampleCount: 16)
        #expect(throws: TrainingError.self) {
            try model.trainingStep(segments: [(x, y.rows(0..<5))], loss: .sparseCategoricalCrossentropy, batchStatistics: failing)
        }
        #expect(failing.calls == healthy.calls)
        let empty = CountingReducer(globalExampleCount: 16)
        let nothing = try model.trainingStep(segments: [nil, nil], loss: .sparseCategoricalCrossentropy, batchStatistics: empty)
        #expect(empty.calls == healthy.calls && nothing.segments.allSatisfy { $0 == nil })
        #expect(nothing.stateUpdate.layers.keys.sorted() == ["batch_normalization", "batch_normalization_1"])
    }

    /// Dropout draws each example's mask from its index in the whole batch: segments of 3, 0
    /// and 5 rows give the whole-batch step's outputs row for row (the same masks), gradients
    /// that add up to its (within rounding) and its generator state. A reducer that does not
    /// say where the segments start (``BatchStatisticsReducer/firstGlobalExample(ofSegment:)``) is refused.
    @Test func dropoutMasksDoNotDependOnTheSegments() throws {
        let dropout = try Sequential(inputFeatures: 4, [Dense(units: 6), Dropout(rate: 0.5), Dense(units: 3, activation: .softmax)], seed: 1)
        let (x, y) = Self.batch(dropout, rows: 8)
        let whole = try dropout.trainingStep(x: x, y: y, loss: .sparseCategoricalCrossentropy)
        let split = try dropout.trainingStep(segments: Self.segments(x, y, bounds: [0, 3, 3, 8]), loss: .sparseCategoricalCrossentropy)
        let outputs = split.segments.compactMap { $0?.predictions }
        #expect(try Tensor.concatenatingRows(outputs) == whole.predictions)
        #expect(split.stateUpdate.layers["dropout"]?.randomState == whole.stateUpdate.layers["dropout"]?.randomState)
        #expect(whole.stateUpdate.layers["dropout"]?.randomState != nil)
        for name in whole.gradients.named.map(\.name) {
            let parts = split.segments.compactMap { $0?.gradients[name]?.scalars }
            let sum = (0..<parts[0].count).map { i in parts.reduce(0) { $0 + $1[i] } }
            Self.expectClose(sum, try #require(whole.gradients[name]).scalars, name)
        }
        #expect(throws: TrainingError.self) {
            try dropout.trainingStep(segments: [(x, y)], loss: .sparseCategoricalCrossentropy,
                                     batchStatistics: CountingReducer(globalExampleCount: 8))
        }
    }

    @Test func refusesRandomLayersAndAGlobalBatchSmallerThanItsSegments() throws {
        let dropout = try Sequential(inputFeatures: 4, [Dropout(rate: 0.5), Dense(units: 3, activation: .softmax)], seed: 1)
        let (x, y) = Self.batch(dropout, rows: 4)
        #expect(throws: TrainingError.self) {
            try dropout.trainingStep(segments: [(x, y)], loss: .sparseCategoricalCrossentropy, batchStatistics: CountingReducer(globalExampleCount: 4))
        }
        #expect(throws: TrainingError.self) {
            try Self.mlp().trainingStep(segments: [(x, y)], loss: .sparseCategoricalCrossentropy,
                                        batchStatistics: LocalBatchStatistics(globalExampleCount: 3))
        }
    }

    /// The segments' predictions (in order), summed gradients and moving statistics are the
    /// whole batch's, up to the order of additions.
    static func expectWholeBatch(_ segmented: SegmentedTrainingStep, _ whole: TrainingStep,
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let steps = segmented.segments.compactMap { $0 }
        let predictions = try Tensor.stacking(steps.flatMap { step in (0..<step.predictions.rowCount).map { step.predictions.row($0) } })
        expectClose(predictions.scalars, whole.predictions.scalars, "predictions", sourceLocation: sourceLocation)
        for gradient in whole.gradients.named {
            let sum = try steps.map { try #require($0.gradients[gradient.name]) }.dropFirst()
                .reduce(try #require(steps[0].gradients[gradient.name])) { try $0 + $1 }
            expectClose(sum.scalars, gradient.value.scalars, gradient.name, sourceLocation: sourceLocation)
        }
        for (layer, update) in whole.stateUpdate.layers {
            for (variable, value) in update.variables {
                let segmentedValue = try #require(segmented.stateUpdate.layers[layer]?.variables[variable])
                expectClose(segmentedValue.scalars, value.scalars, "\(layer)/\(variable)", sourceLocation: sourceLocation)
            }
        }
    }

    static func expectClose(_ values: [Float], _ expected: [Float], _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(values.count == expected.count, "\(what): \(values.count) vs \(expected.count) values", sourceLocation: sourceLocation)
        let worst = zip(values, expected).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst <= 2e-6, "\(what): worst difference \(worst)", sourceLocation: sourceLocation)
    }
}
