import Foundation
import HDF5
import Testing
@testable import Datasets
import Tensors

/// Bad options and states that belong elsewhere: each is the `DatasetError` case naming the
/// stage or source and the value at fault, and its one-line message says so exactly (other
/// suites check that these throw; here the case and the message are pinned).
@Suite("Dataset options and foreign states are refused with the stage and value named")
struct DatasetErrorMessageTests {
    /// Runs `body`, requires a `DatasetError` that `matches`, and compares its message.
    private func expectError(_ message: String, sourceLocation: SourceLocation = #_sourceLocation,
                             _ body: () throws -> Void, matches: (DatasetError) -> Bool) {
        do {
            try body()
            Issue.record("no error; expected \"\(message)\"", sourceLocation: sourceLocation)
        } catch let error as DatasetError {
            #expect(matches(error), "unexpected case \(error)", sourceLocation: sourceLocation)
            #expect(error.localizedDescription == message, sourceLocation: sourceLocation)
        } catch {
            Issue.record("untyped error \(error)", sourceLocation: sourceLocation)
        }
    }

    /// A streaming source of `count` integers (no random access, so the streaming adaptors run).
    static func stream(_ count: Int) -> GeneratorDataset<Int> { GeneratorDataset { $0 < count ? $0 : nil } }

    private func invalid(_ stage: String, _ reason: String) -> (DatasetError) -> Bool {
        { if case .invalidArgument(stage, reason) = $0 { true } else { false } }
    }

    private func incompatible(_ expected: String, _ found: String) -> (DatasetError) -> Bool {
        { if case .incompatibleState(expected, found) = $0 { true } else { false } }
    }

    @Test("a batch size of 0, streaming and random-access")
    func zeroBatch() {
        let reason = "the batch size must be >= 1, got 0"
        expectError("batch: \(reason)", { _ = try RangeDataset(0..<3).batch(0).collect() }, matches: invalid("batch", reason))
        expectError("batch: \(reason)", { try RangeDataset(0..<3).batch(0).validate() }, matches: invalid("batch", reason))
        expectError("batch: the batch size must be >= 1, got -2", { _ = try Self.stream(3).batch(-2).collect() },
                    matches: invalid("batch", "the batch size must be >= 1, got -2"))
    }

    @Test("a shuffle buffer of 0, over a stream and over rows")
    func zeroShuffleBuffer() throws {
        let reason = "bufferSize must be >= 1, got 0"
        expectError("shuffle: \(reason)", { _ = try Self.stream(3).shuffle(bufferSize: 0, seed: 1).collect() },
                    matches: invalid("shuffle", reason))
        let x = try Tensor<Float>(shape: [4, 2], scalars: (0..<8).map(Float.init))
        expectError("shuffle: \(reason)", { _ = try Slices(x, x).shuffle(bufferSize: 0, seed: 1).batch(2).collect() },
                    matches: invalid("shuffle", reason))
    }

    @Test("a shard index outside the shard count, streaming and random-access")
    func shardIndex() {
        expectError("shard: index 3 must be in 0..<3", { _ = try Self.stream(6).shard(count: 3, index: 3).collect() },
                    matches: invalid("shard", "index 3 must be in 0..<3"))
        expectError("shard: index -1 must be in 0..<2", { try RangeDataset(0..<6).shard(count: 2, index: -1).validate() },
                    matches: invalid("shard", "index -1 must be in 0..<2"))
    }

    @Test("a random-access slice beyond its source")
    func sliceBeyondSource() {
        expectError("slice: range 5..<12 is not within 0..<10", { try RangeDataset(0..<10).slice(5..<12).validate() },
                    matches: invalid("slice", "range 5..<12 is not within 0..<10"))
    }

    @Test("sampling from nothing, with all-zero weights, or weights whose sum overflows")
    func sampleWeights() {
        expectError("sample: needs at least one dataset to draw from", { _ = try sample(from: [RangeDataset]()) },
                    matches: invalid("sample", "needs at least one dataset to draw from"))
        let two = [RangeDataset(0..<3), RangeDataset(3..<6)]
        expectError("sample: all 2 weights are 0; one must be positive", { _ = try sample(from: two, weights: [0, 0]) },
                    matches: invalid("sample", "all 2 weights are 0; one must be positive"))
        expectError("sample: the weights sum to more than Double can hold; scale them down",
                    { _ = try sample(from: two, weights: [.greatestFiniteMagnitude, .greatestFiniteMagnitude]) },
                    matches: invalid("sample", "the weights sum to more than Double can hold; scale them down"))
    }

    @Test("slicing or unbatching a scalar tensor")
    func scalarTensors() throws {
        let scalar = try Tensor<Float>(shape: [], scalars: [1])
        let reason = "cannot slice a scalar tensor (shape []); give it a leading dimension"
        expectError("slices: \(reason)", { _ = try Slices(scalar) }, matches: invalid("slices", reason))
        let rows = try Tensor<Float>(shape: [3], scalars: [1, 2, 3])
        // Each element of a rank-1 tensor's slices is a scalar: there is nothing to unbatch.
        do {
            _ = try Slices(rows).unbatch().collect()
            Issue.record("unbatched scalars")
        } catch {
            #expect(error.localizedDescription.contains("cannot unbatch a scalar tensor"), "\(error.localizedDescription)")
        }
    }

    @Test("a range state positioned past its range")
    func rangeStatePastEnd() throws {
        let data = RangeDataset(0..<5)
        var iterator = data.makeIterator()
        _ = iterator.next()
        var state = iterator.state
        state.counters[0] = 9
        expectError("cannot resume: the saved state is for 'range at position 9' but this pipeline stage is 'range 0..<5'",
                    { _ = try data.makeIterator(resumingFrom: state) }, matches: incompatible("range 0..<5", "range at position 9"))
    }

    @Test("a shuffle state whose buffer names an element it never pulled")
    func shuffleStateForeignOrdinal() throws {
        let data = RangeDataset(0..<20).shuffle(bufferSize: 4, seed: 1)
        var iterator = data.makeIterator()
        _ = try iterator.next()
        var state = iterator.state
        try #require(!state.indices.isEmpty)
        let pulled = state.counters[0], from = state.counters[1]
        state.indices[0] = 99
        expectError("cannot resume: the saved state is for 'ordinal 99' but this pipeline stage is 'shuffle buffer ordinals in \(from)..<\(pulled)'",
                    { _ = try data.makeIterator(resumingFrom: state) },
                    matches: incompatible("shuffle buffer ordinals in \(from)..<\(pulled)", "ordinal 99"))
    }

    @Test("an unbatch state inside a batch larger than the input's")
    func unbatchStateOffset() throws {
        let batches = try Tensor<Float>(shape: [6, 1], scalars: (0..<6).map(Float.init))
        let data = try Slices(batches).batch(3).unbatch()
        var iterator = data.makeIterator()
        _ = try iterator.next()
        var state = iterator.state
        try #require(state.kind == "unbatch" && state.counters == [1, 0])
        state.counters[0] = 7
        expectError("cannot resume: the saved state is for 'offset 7' but this pipeline stage is 'an offset within 3 rows'",
                    { _ = try data.makeIterator(resumingFrom: state) }, matches: incompatible("an offset within 3 rows", "offset 7"))
    }

    @Test("an HDF5 rows state past the dataset's rows, and a scalar dataset as rows")
    func hdf5RowsState() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bw-ds-errors-\(UUID().uuidString).h5")
        defer { try? FileManager.default.removeItem(at: url) }
        try HDF5File.atomicWrite(to: url) { file in
            try file.write((0..<8).map(Float.init), shape: [4, 2], to: "/x")
            try file.write([Float(1)], shape: [], to: "/scalar")
        }
        let rows = try HDF5Rows(file: url, path: "/x", as: Float.self)
        var iterator = rows.makeIterator()
        _ = try iterator.next()
        var state = iterator.state
        state.counters[0] = 5
        expectError("cannot resume: the saved state is for 'row 5' but this pipeline stage is 'hdf5 rows of 4'",
                    { _ = try rows.makeIterator(resumingFrom: state) }, matches: incompatible("hdf5 rows of 4", "row 5"))
        expectError("\(url.path):/scalar: a scalar dataset has no rows", { _ = try HDF5Rows(file: url, path: "/scalar", as: Float.self) },
                    matches: invalid("\(url.path):/scalar", "a scalar dataset has no rows"))
    }
}
