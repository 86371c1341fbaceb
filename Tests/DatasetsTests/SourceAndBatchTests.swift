import Testing
@testable import Datasets
import Tensors

@Suite struct SourceAndBatchTests {
    @Test func rangeBatchOfThreeKeepsTheShortLastBatch() throws {
        #expect(try RangeDataset(0..<10).batch(3).collect() == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]])
        #expect(RangeDataset(0..<10).batch(3).cardinality == .finite(4))
    }

    @Test func dropRemainderDropsTheShortLastBatch() throws {
        #expect(try RangeDataset(0..<10).batch(3, dropRemainder: true).collect() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
        #expect(RangeDataset(0..<10).batch(3, dropRemainder: true).cardinality == .finite(3))
    }

    @Test func batchThenRepeatRestartsBatchingEachEpoch() throws {
        let batches = try RangeDataset(0..<10).batch(4).repeat(2).collect()
        #expect(batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    }

    @Test func repeatThenBatchSpansTheEpochBoundary() throws {
        let batches = try RangeDataset(0..<10).repeat(2).batch(4).collect()
        #expect(batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1], [2, 3, 4, 5], [6, 7, 8, 9]])
    }

    @Test func repeatCountsAndInfiniteCardinality() throws {
        #expect(try RangeDataset(0..<3).repeat(2).collect() == [0, 1, 2, 0, 1, 2])
        #expect(try RangeDataset(0..<3).repeat(0).collect() == [])
        #expect(RangeDataset(0..<3).repeat().cardinality == .infinite)
        #expect(RangeDataset(0..<3).repeat(-1).cardinality == .infinite)
        #expect(RangeDataset(0..<3).repeat(4).cardinality == .finite(12))
        #expect(try RangeDataset(0..<3).repeat().collect(limit: 7) == [0, 1, 2, 0, 1, 2, 0])
        // An empty pass repeated forever ends instead of spinning.
        #expect(try RangeDataset(0..<0).repeat().collect(limit: 5) == [])
        #expect(throws: DatasetError.self) { try RangeDataset(0..<3).repeat().collect() }
    }

    @Test func slicesYieldRowsAndBatchesStackWithALeadingDimension() throws {
        let x = try Tensor<Double>(shape: [5, 2], scalars: (0..<10).map(Double.init))
        let y = Tensor<Int64>([10, 11, 12, 13, 14])
        let rows = try Slices(x, y).collect()
        #expect(rows.count == 5)
        #expect(rows[3].0.shape == [2] && rows[3].0.scalars == [6, 7])
        #expect(rows[3].1.shape == [] && rows[3].1.scalars == [13])
        let batches = try Slices(x, y).batch(2).collect()
        #expect(batches.map { $0.0.shape } == [[2, 2], [2, 2], [1, 2]])
        #expect(batches.map { $0.1.shape } == [[2], [2], [1]])
        #expect(batches[1].0.scalars == [4, 5, 6, 7] && batches[1].1.scalars == [12, 13])

        let column = try Tensor<Float>(shape: [5, 1], scalars: [0, 1, 0, 1, 0])
        let withColumn = try Slices(x, column).batch(4).collect()
        #expect(withColumn[0].1.shape == [4, 1])
    }

    @Test func slicesRejectMismatchedLengthsAndScalars() {
        #expect(throws: DatasetError.self) { try Slices(Tensor<Float>([1, 2, 3]), Tensor<Float>([1, 2])) }
        #expect(throws: DatasetError.self) { try Slices(Tensor<Float>(scalar: 1)) }
    }

    @Test func batchingMismatchedShapesNamesBothShapes() throws {
        let elements = [Tensor<Float>([1, 2]), Tensor<Float>([3, 4]), Tensor<Float>([5, 6, 7])]
        var it = Slices(elements).batch(3).makeIterator()
        do {
            _ = try it.next()
            Issue.record("expected a shape mismatch")
        } catch let DatasetError.shapeMismatch(stage, index, expected, found) {
            #expect(stage == "batch" && index == 2 && expected == [2] && found == [3])
            let message = DatasetError.shapeMismatch(stage: stage, index: index, expected: expected, found: found)
                .localizedDescription
            #expect(message.contains("[2]") && message.contains("[3]"))
        }
    }

    @Test func invalidArgumentsThrowTypedErrorsAtIteration() {
        #expect(throws: DatasetError.self) { try RangeDataset(0..<3).batch(0).collect() }
        #expect(throws: DatasetError.self) { try RangeDataset(0..<3).shuffle(bufferSize: 0, seed: 1).collect() }
    }

    @Test func sequenceAndGeneratorSources() throws {
        #expect(try SequenceDataset([3, 1, 4]).collect() == [3, 1, 4])
        #expect(SequenceDataset([3, 1, 4]).cardinality == .finite(3))
        let gen = GeneratorDataset { i in i < 4 ? i * 10 : nil }
        #expect(try gen.collect() == [0, 10, 20, 30])
    }

    @Test func generatorErrorsNameTheElementIndex() {
        let failing = GeneratorDataset(name: "flaky") { i -> Int? in
            if i == 3 { throw Boom(at: i) }
            return i
        }
        var it = failing.makeIterator()
        #expect(try! pull(&it, 3) == [0, 1, 2])
        do {
            _ = try it.next()
            Issue.record("expected an error")
        } catch let DatasetError.functionFailed(stage, index, underlying) {
            #expect(stage == "flaky" && index == 3 && (underlying as? Boom) == Boom(at: 3))
        } catch { Issue.record("wrong error \(error)") }
    }

    @Test func mapAndFilterAreLazy() throws {
        let calls = PullCounter()
        let mapped = RangeDataset(0..<1_000_000).repeat().map { v -> Int in calls.increment(); return v * 2 }
        #expect(calls.count == 0)
        #expect(try mapped.collect(limit: 3) == [0, 2, 4])
        #expect(calls.count == 3)
        #expect(try RangeDataset(0..<10).filter { $0 % 3 == 0 }.collect() == [0, 3, 6, 9])
        #expect(RangeDataset(0..<10).filter { $0 > 2 }.cardinality == .unknown)
    }

    @Test func mapConvertsPairsToFloat() throws {
        let x = try Tensor<Double>(shape: [2, 1], scalars: [0.5, 1.5])
        let y = Tensor<Int64>([0, 1])
        let pipeline = try Slices(x, y).map { x, y in (x.converted(to: Float.self), y.converted(to: Float.self)) }
            .batch(2).eraseToAnyDataset()
        var it = pipeline.makeIterator()
        let (xb, yb) = try it.next()!
        #expect(xb == (try Tensor<Float>(shape: [2, 1], scalars: [0.5, 1.5])))
        #expect(yb == Tensor<Float>([0, 1]))
    }
}
