import Foundation
import HDF5
import Testing
@testable import Datasets
import Tensors

/// `interleave`: tf.data's order (fixtures/golden/interleave-orders.json, written by
/// fixtures/golden/make_interleave_orders.py with tensorflow), exact resume from every position,
/// refused states of another configuration, cardinality, and a small state for 100 sources.
@Suite struct InterleaveTests {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let name: String
            let datasets: [[Int]]
            let cycleLength: Int
            let blockLength: Int
            let order: [Int]
        }
        let cases: [Case]

        static func load() throws -> [Case] {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("fixtures/golden/interleave-orders.json")
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(Fixture.self, from: Data(contentsOf: url)).cases
        }
    }

    @Test func matchesTensorFlowsOrder() throws {
        let cases = try Fixture.load()
        #expect(cases.count == 8)
        for testCase in cases {
            let list = interleave(testCase.datasets.map { Slices($0) }, cycleLength: testCase.cycleLength,
                                  blockLength: testCase.blockLength)
            #expect(try list.collect() == testCase.order, "\(testCase.name), from a list")
            #expect(list.cardinality == .finite(testCase.order.count), "\(testCase.name)")
            let nested = Slices(testCase.datasets).map { Slices($0) }
                .interleave(cycleLength: testCase.cycleLength, blockLength: testCase.blockLength)
            #expect(try nested.collect() == testCase.order, "\(testCase.name), from a dataset of datasets")
        }
    }

    @Test func theDocumentedExamples() throws {
        let files = [RangeDataset(0..<6), RangeDataset(10..<12), RangeDataset(20..<25)]
        #expect(try interleave(files, cycleLength: 2, blockLength: 2).collect()
                == [0, 1, 10, 11, 2, 3, 4, 5, 20, 21, 22, 23, 24])
        let parts = [RangeDataset(0..<3), RangeDataset(10..<13)]
        #expect(try interleave(parts, cycleLength: 2).collect() == [0, 10, 1, 11, 2, 12])
    }

    @Test func resumesExactlyFromEveryPosition() throws {
        for testCase in try Fixture.load() {
            let list = interleave(testCase.datasets.map { Slices($0) }, cycleLength: testCase.cycleLength,
                                  blockLength: testCase.blockLength)
            let total = testCase.order.count
            try expectResumesExactly(list, total: total + 2, cuts: Array(0...total + 1))
            let nested = Slices(testCase.datasets).map { Slices($0) }
                .interleave(cycleLength: testCase.cycleLength, blockLength: testCase.blockLength)
            try expectResumesExactly(nested, total: total + 2, cuts: Array(0...total + 1))
            try expectStateRoundTrips(list, cuts: Array(0...total + 1))
            try expectStateRoundTrips(nested, cuts: Array(0...total + 1))
        }
    }

    /// Inner datasets whose states change shape (a shuffle buffer fills: kept whole) and whose
    /// order depends on the epoch, inside a small pipeline, over several epochs.
    @Test func resumesAPipelineOfShuffledInnerDatasetsInEveryEpoch() throws {
        let inner = Slices(Array(0..<7)).map { file in
            RangeDataset(file * 100..<(file * 100 + 3 * file % 11)).shuffle(bufferSize: 3, seed: UInt64(file))
        }
        let pipeline = inner.interleave(cycleLength: 3, blockLength: 2).batch(4).repeat(2)
        for epoch: UInt64 in [0, 3] {
            let batches = try pipeline.collect(epoch: epoch).count
            #expect(batches > 4)
            try expectResumesExactly(pipeline, total: batches + 2, cuts: Array(0...batches + 1), epoch: epoch, key: { $0 })
        }
        let flat = inner.interleave(cycleLength: 3, blockLength: 2)
        #expect(try flat.collect(epoch: 0) != flat.collect(epoch: 1), "inner shuffles get the epoch")
        #expect(try flat.collect(epoch: 0).sorted() == flat.collect(epoch: 1).sorted())
    }

    /// One `HDF5Rows` per file, as a list and as a dataset of datasets built from the paths; and
    /// a weighted mix of the same files. Row `r` of every file starts with `r`.
    @Test func readsOneHDF5FilePerDatasetAndResumes() throws {
        let lengths = [40, 25, 60]
        let urls = try lengths.map { try HDF5RowsTests.makeFile(rows: $0) }
        defer { urls.forEach { try? FileManager.default.removeItem(at: $0) } }
        let files = try urls.map { try HDF5Rows(file: $0, path: "/x", as: Float.self, chunkRows: 8) }
        let expected = try interleave(lengths.map { RangeDataset(0..<$0) }, cycleLength: 2, blockLength: 5).collect()
        let list = interleave(files, cycleLength: 2, blockLength: 5)
        let firstColumn: (Tensor<Float>) -> Int = { Int($0.scalars[0]) }
        #expect(try list.collect().map(firstColumn) == expected)
        #expect(list.cardinality == .finite(125))
        let nested = Slices(urls).map { try HDF5Rows(file: $0, path: "/x", as: Float.self, chunkRows: 8) }
            .interleave(cycleLength: 2, blockLength: 5)
        #expect(try nested.collect().map(firstColumn) == expected)
        let cuts = [0, 1, 4, 5, 9, 10, 33, 64, 65, 99, 124, 125]
        try expectResumesExactly(list, total: 126, cuts: cuts, key: firstColumn)
        try expectResumesExactly(nested, total: 126, cuts: cuts, key: firstColumn)
        let mixed = try sample(from: files, weights: [1, 2, 1], seed: 6, stopping: .reweightRemaining)
        #expect(try mixed.collect().map(firstColumn).sorted() == (lengths.flatMap { 0..<$0 }).sorted())
        try expectResumesExactly(mixed, total: 126, cuts: cuts, key: firstColumn)
    }

    @Test func refusesAStateOfAnotherConfigurationNamingWhatDiffers() throws {
        let sources = (0..<6).map { RangeDataset($0 * 10..<($0 * 10 + 5)) }
        let reference = interleave(sources, cycleLength: 3, blockLength: 2)
        func expectRefused<D: Dataset>(_ other: D, parameter: String, saved: String, current: String,
                                       sourceLocation: SourceLocation = #_sourceLocation) throws {
            try expectMismatch(saving: reference, after: 7, into: other, stage: "interleave", parameter: parameter,
                               saved: saved, current: current, sourceLocation: sourceLocation)
        }
        try expectRefused(interleave(sources, cycleLength: 4, blockLength: 2), parameter: "cycleLength",
                          saved: "3", current: "4")
        try expectRefused(interleave(sources, cycleLength: 3, blockLength: 1), parameter: "blockLength",
                          saved: "2", current: "1")
        try expectRefused(interleave(Array(sources.prefix(5)), cycleLength: 3, blockLength: 2), parameter: "sources",
                          saved: "6", current: "5")
        var changed = sources
        changed[1] = RangeDataset(10..<16)
        let saved = PackedSourceStates.digest(Array(sources.prefix(3)).map { $0.makeIterator().state })
        let current = PackedSourceStates.digest(Array(changed.prefix(3)).map { $0.makeIterator().state })
        try expectRefused(interleave(changed, cycleLength: 3, blockLength: 2), parameter: "sourceSettings",
                          saved: saved, current: current)
    }

    @Test func cardinalityAndEdgeCases() throws {
        #expect(interleave([RangeDataset](), cycleLength: 2).cardinality == .finite(0))
        #expect(try interleave([RangeDataset](), cycleLength: 2).collect().isEmpty)
        #expect(interleave([RangeDataset(0..<0)], cycleLength: 2).cardinality == .finite(0))
        #expect(try interleave([RangeDataset(0..<0), RangeDataset(0..<0)], cycleLength: 1).collect().isEmpty)
        #expect(try interleave([RangeDataset(0..<4)], cycleLength: 3, blockLength: 2).collect() == [0, 1, 2, 3])
        let withInfinite = [RangeDataset(0..<2).eraseToAnyDataset(), RangeDataset(9..<10).repeat().eraseToAnyDataset()]
        #expect(interleave(withInfinite, cycleLength: 2).cardinality == .infinite)
        #expect(try interleave(withInfinite, cycleLength: 2).collect(limit: 6) == [0, 9, 1, 9, 9, 9])
        let withUnknown = [RangeDataset(0..<2).eraseToAnyDataset(), RangeDataset(0..<3).filter { _ in true }.eraseToAnyDataset()]
        #expect(interleave(withUnknown, cycleLength: 2).cardinality == .unknown)
        #expect(Slices([RangeDataset(0..<2)]).interleave(cycleLength: 2).cardinality == .unknown)
        #expect(Slices([RangeDataset]()).interleave(cycleLength: 2).cardinality == .finite(0))
        for (cycle, block) in [(0, 1), (2, 0), (-1, 1)] {
            var iterator = interleave([RangeDataset(0..<3)], cycleLength: cycle, blockLength: block).makeIterator()
            #expect(throws: DatasetError.self) { _ = try iterator.next() }
        }
    }

    @Test func theStateOf100SourcesIsAtMostOneKilobyte() throws {
        let sources = (0..<100).map { RangeDataset($0 * 10_000..<($0 + 1) * 10_000) }
        // The per-slot input positions and source positions are bit-packed, about 4 characters
        // a slot: all 100 open (cycleLength 100) fit too.
        for cycleLength in [16, 64, 100] {
            let mixed = interleave(sources, cycleLength: cycleLength, blockLength: 8)
            var iterator = mixed.makeIterator()
            _ = try pull(&iterator, 100 * 10_000 / 2 + 12_345)
            let bytes = try iterator.state.encoded()
            #expect(bytes.count <= 1_024, "cycle \(cycleLength): the state is \(bytes.count) bytes")
            let expected = try pull(&iterator, 2_000)
            var resumed = try mixed.makeIterator(resumingFrom: IteratorState(encoded: bytes))
            #expect(try pull(&resumed, 2_000) == expected)
        }
    }
}
