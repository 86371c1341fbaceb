import Testing
@testable import Datasets
import Tensors

@Suite struct ResumeTests {
    static func seedPipelineData(_ n: Int) throws -> Slices<(Tensor<Double>, Tensor<Int64>)> {
        var rng = SplitMix64(seed: 5)
        let x = try Tensor<Double>(shape: [n, 1], scalars: (0..<n).map { _ in rng.nextUniform() })
        let y = Tensor<Int64>((0..<n).map { Int64($0 % 2) })
        return try Slices(x, y)
    }

    @Test func sourcesResume() throws {
        try expectResumesExactly(RangeDataset(0..<10), total: 10, cuts: [0, 3, 10])
        try expectResumesExactly(SequenceDataset([5, 6, 7, 8]), total: 4, cuts: [0, 2, 4])
        try expectResumesExactly(GeneratorDataset { $0 < 6 ? $0 : nil }, total: 6, cuts: [0, 4, 6])
        try expectResumesExactly(try Self.seedPipelineData(9), total: 9, cuts: [0, 5], key: pairKey)
    }

    @Test func shuffleResumesMidBufferAndAcrossSnapshots() throws {
        try expectResumesExactly(RangeDataset(0..<40).shuffle(bufferSize: 8, seed: 1), total: 40,
                                 cuts: [0, 1, 7, 8, 9, 20, 39, 40])
        // Many snapshot intervals (interval = max(buffer, 256)).
        try expectResumesExactly(RangeDataset(0..<2_000).shuffle(bufferSize: 16, seed: 2), total: 2_000,
                                 cuts: [300, 1_024, 1_999])
        // Infinite input: the replay stays bounded by the snapshots.
        try expectResumesExactly(RangeDataset(0..<10).repeat().shuffle(bufferSize: 4, seed: 3), total: 1_500,
                                 cuts: [5, 700, 1_300])
    }

    @Test func repeatBatchMapFilterResume() throws {
        try expectResumesExactly(RangeDataset(0..<7).repeat(3), total: 21, cuts: [0, 6, 7, 8, 20])
        try expectResumesExactly(RangeDataset(0..<7).shuffle(bufferSize: 7, seed: 4).repeat(), total: 30,
                                 cuts: [3, 7, 15, 29])
        try expectResumesExactly(RangeDataset(0..<10).batch(3), total: 4, cuts: [0, 1, 3])
        try expectResumesExactly(RangeDataset(0..<10).map { $0 * 3 }, total: 10, cuts: [4])
        try expectResumesExactly(RangeDataset(0..<10).filter { $0 % 2 == 1 }, total: 5, cuts: [2])
    }

    @Test func seedPipelineResumesMidEpochThroughJSON() throws {
        let pipeline = try Self.seedPipelineData(100).shuffle(bufferSize: 100, seed: 18).repeat().batch(8)
        try expectResumesExactly(pipeline, total: 40, cuts: [1, 5, 12, 13, 26], key: pairKey)
        let erased = pipeline.eraseToAnyDataset()
        try expectResumesExactly(erased, total: 40, cuts: [7], key: pairKey)
    }

    @Test func aStateFromAnotherPipelineIsRejected() throws {
        // (The filter keeps the batch a streaming stage with a state node of its own; a batch
        // of the random-access range would save a "randomAccess" state, tested in RandomAccessStateTests.)
        var it = RangeDataset(0..<10).filter { _ in true }.batch(2).makeIterator()
        _ = try it.next()
        let error = #expect(throws: DatasetError.self) {
            _ = try RangeDataset(0..<10).shuffle(bufferSize: 2, seed: 1).makeIterator(resumingFrom: it.state)
        }
        // The error names the stage that expected the state and what the state holds instead.
        guard case let .incompatibleState(expected, found)? = error else {
            Issue.record("expected incompatibleState, got \(String(describing: error))")
            return
        }
        #expect(expected == "shuffle" && found.hasPrefix("batch"), "expected \(expected), found \(found)")
        // Same layout (1 counter, 1 child), other stage: only the kind tells them apart, and a
        // resume must not silently reinterpret a batch count as a map position.
        let sameLayout = #expect(throws: DatasetError.self) {
            _ = try RangeDataset(0..<10).map { $0 }.makeIterator(resumingFrom: it.state)
        }
        guard case let .incompatibleState(mapExpected, mapFound)? = sameLayout else {
            Issue.record("expected incompatibleState, got \(String(describing: sameLayout))")
            return
        }
        #expect(mapExpected == "map" && mapFound.hasPrefix("batch"), "expected \(mapExpected), found \(mapFound)")
        #expect(throws: DatasetError.self) { _ = try IteratorState(encoded: Data("nope".utf8)) }
    }
}
import Foundation
