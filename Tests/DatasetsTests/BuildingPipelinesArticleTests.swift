import Datasets
import Foundation
import Tensors
import Testing

/// Snippets of the DocC article "Building, storing and resuming pipelines"
/// (Sources/Datasets/Datasets.docc/BuildingPipelines.md), with the values it states.
@Suite struct BuildingPipelinesArticleTests {
    static let xs: [Double] = (0..<100).map { Double($0) / 10 }
    static let labels: [Int64] = (0..<100).map { Int64($0 % 2) }

    static func trainingPipeline() throws -> some Dataset<(Tensor<Float>, Tensor<Float>)> {
        let x = try Tensor<Double>(shape: [100, 1], scalars: xs)
        let y = Tensor<Int64>(labels)
        return try Slices(x, y).map { x, y in (x.converted(to: Float.self), y.converted(to: Float.self)) }
            .shuffle(bufferSize: 10_000, seed: 18).repeat().batch(32).prefetch(2)
    }

    struct Job { var train: any Dataset<(Tensor<Float>, Tensor<Float>)> }

    @Test func theStoredSpellingsYieldTheSameBatches() throws {
        let erased: AnyDataset<(Tensor<Float>, Tensor<Float>)> = try Self.trainingPipeline().eraseToAnyDataset()
        let job = Job(train: try Self.trainingPipeline())
        let a = try erased.collect(limit: 5)
        var it = job.train.makeIterator()
        for expected in a {
            let got = try #require(try it.next())
            #expect(got.0 == expected.0 && got.1 == expected.1)
        }
        #expect(a[0].0.shape == [32, 1] && a[0].1.shape == [32])
    }

    @Test func theStatedCardinalitiesHold() {
        #expect(RangeDataset(0..<10).batch(3).cardinality == .finite(4))
        #expect(RangeDataset(0..<10).batch(3, dropRemainder: true).cardinality == .finite(3))
        #expect(RangeDataset(0..<10).repeat().take(25).cardinality == .finite(25))
        #expect(RangeDataset(0..<10).repeat().cardinality == .infinite)
        #expect(RangeDataset(0..<10).filter { $0 > 2 }.cardinality == .unknown)
    }

    @Test func aSeedlessShuffleIsReproducedFromItsSeed() throws {
        let data = RangeDataset(0..<100).shuffle(bufferSize: 100)
        let again = RangeDataset(0..<100).shuffle(bufferSize: 100, seed: data.seed)
        #expect(try data.collect() == again.collect())
        #expect(try data.collect() != Array(0..<100))
    }

    @Test func aResumedIteratorYieldsWhatTheOriginalWouldHave() throws {
        let train = try Self.trainingPipeline()
        var it = train.makeIterator()
        for _ in 0..<7 { _ = try it.next() }
        let bytes = try it.state.encoded()
        var resumed = try train.makeIterator(resumingFrom: IteratorState(encoded: bytes))
        for _ in 0..<5 {
            let (a, b) = (try #require(try it.next()), try #require(try resumed.next()))
            #expect(a.0 == b.0 && a.1 == b.1)
        }
    }
}
