import Foundation
import Testing
@testable import Datasets
import Tensors

/// A state saved by one pipeline must not silently continue in a pipeline that differs in a
/// setting that decides the element sequence: every adaptor records its settings and refuses a
/// state whose settings differ, naming the adaptor and both values. Old states (no settings)
/// still restore.
@Suite struct StateParameterTests {
    /// Pulls `pull` elements from `saved`, saves the state through JSON and expects `restored`
    /// to refuse it with a mismatch naming `stage`, `parameter` and both values.
    func expectRefused<A: Dataset, B: Dataset>(
        _ saved: A, into restored: B, pull count: Int = 3, stage: String, parameter: String,
        saved savedValue: String, current: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var iterator = saved.makeIterator()
        _ = try pull(&iterator, count)
        let state = try IteratorState(encoded: iterator.state.encoded())
        do {
            _ = try restored.makeIterator(resumingFrom: state)
            Issue.record("the state of a pipeline with \(stage) \(parameter) \(savedValue) was accepted by one with \(current)",
                         sourceLocation: sourceLocation)
        } catch let DatasetError.mismatchedState(gotStage, gotParameter, gotSaved, gotCurrent) {
            #expect([gotStage, gotParameter, gotSaved, gotCurrent] == [stage, parameter, savedValue, current],
                    sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected mismatchedState, got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func sourcesRefuseAnotherLength() throws {
        try expectRefused(Slices(count: 10) { $0 }, into: Slices(count: 12) { $0 },
                          stage: "slices", parameter: "count", saved: "10", current: "12")
        try expectRefused(RangeDataset(0..<10), into: RangeDataset(1..<11),
                          stage: "range", parameter: "range", saved: "0..<10", current: "1..<11")
        try expectRefused(SequenceDataset([1, 2, 3, 4]), into: SequenceDataset([1, 2, 3, 4, 5]),
                          stage: "sequence", parameter: "count", saved: "4", current: "5")
        try expectRefused(GeneratorDataset(cardinality: .finite(6)) { $0 < 6 ? $0 : nil },
                          into: GeneratorDataset(cardinality: .finite(8)) { $0 < 8 ? $0 : nil },
                          stage: "generator", parameter: "count", saved: "6", current: "8")
        let features = try Tensor<Double>(shape: [6, 1], scalars: (0..<6).map(Double.init))
        let more = try Tensor<Double>(shape: [7, 1], scalars: (0..<7).map(Double.init))
        try expectRefused(try Slices(features), into: try Slices(more),
                          stage: "slices", parameter: "count", saved: "6", current: "7")
    }

    @Test func shuffleRefusesAnotherSeedBufferOrReshuffleFlag() throws {
        let base = RangeDataset(0..<100)
        let reference = base.shuffle(bufferSize: 10, seed: 42)
        try expectRefused(reference, into: base.shuffle(bufferSize: 10, seed: 43),
                          stage: "shuffle", parameter: "seed", saved: "42", current: "43")
        try expectRefused(reference, into: base.shuffle(bufferSize: 5, seed: 42),
                          stage: "shuffle", parameter: "bufferSize", saved: "10", current: "5")
        try expectRefused(reference, into: base.shuffle(bufferSize: 10, seed: 42, reshuffleEachIteration: false),
                          stage: "shuffle", parameter: "reshuffleEachIteration", saved: "true", current: "false")
    }

    /// The issue's case: batch 256, seed 42, buffer 10,000 against one setting changed, over
    /// tensor slices (the gather fast path) and element by element.
    @Test func theReportedPipelineRefusesEachChangedSetting() throws {
        let n = 20_000
        let x = try Tensor<Float>(shape: [n, 2], scalars: (0..<(2 * n)).map(Float.init))
        let y = try Tensor<Float>(shape: [n, 1], scalars: (0..<n).map(Float.init))
        let data = try Slices(x, y)
        func pipeline(batch: Int = 256, seed: UInt64 = 42, buffer: Int = 10_000) -> some Dataset<(Tensor<Float>, Tensor<Float>)> {
            data.shuffle(bufferSize: buffer, seed: seed).repeat().batch(batch)
        }
        try expectRefused(pipeline(), into: pipeline(batch: 128), stage: "batch", parameter: "size", saved: "256", current: "128")
        try expectRefused(pipeline(), into: pipeline(seed: 43), stage: "shuffle", parameter: "seed", saved: "42", current: "43")
        try expectRefused(pipeline(), into: pipeline(buffer: 1_000),
                          stage: "shuffle", parameter: "bufferSize", saved: "10000", current: "1000")
        // Element by element (a map before the batch leaves the fast path): the same refusals.
        let slow = data.map { $0 }
        try expectRefused(slow.shuffle(bufferSize: 10_000, seed: 42).batch(256),
                          into: slow.shuffle(bufferSize: 10_000, seed: 43).batch(256),
                          stage: "shuffle", parameter: "seed", saved: "42", current: "43")
        // And the unchanged pipeline still resumes exactly.
        try expectResumesExactly(pipeline(), total: 100, cuts: [1, 39, 78, 99], key: pairKey)
        try expectResumesExactly(slow.shuffle(bufferSize: 10_000, seed: 42).batch(256), total: 20, cuts: [3], key: pairKey)
    }

    @Test func countingAdaptorsRefuseAnotherCount() throws {
        let base = RangeDataset(0..<30)
        try expectRefused(base.repeat(3), into: base.repeat(4), stage: "repeat", parameter: "count", saved: "3", current: "4")
        try expectRefused(base.repeat(3), into: base.repeat(), stage: "repeat", parameter: "count", saved: "3", current: "forever")
        try expectRefused(base.batch(3), into: base.batch(4), stage: "batch", parameter: "size", saved: "3", current: "4")
        try expectRefused(base.batch(4), into: base.batch(4, dropRemainder: true),
                          stage: "batch", parameter: "dropRemainder", saved: "false", current: "true")
        try expectRefused(base.take(5), into: base.take(6), stage: "take", parameter: "count", saved: "5", current: "6")
        try expectRefused(base.skip(2), into: base.skip(3), stage: "skip", parameter: "count", saved: "2", current: "3")
        // The streaming shard (over a streaming base); the random-access shard resumes on another
        // shard layout by design (ShardResumeTests).
        let stream = base.filter { _ in true }
        try expectRefused(stream.shard(count: 3, index: 1), into: stream.shard(count: 2, index: 1),
                          stage: "shard", parameter: "count", saved: "3", current: "2")
        try expectRefused(stream.shard(count: 3, index: 1), into: stream.shard(count: 3, index: 0),
                          stage: "shard", parameter: "index", saved: "1", current: "0")
        try expectRefused(base.map(parallelism: 2) { $0 }, into: base.map(parallelism: 2, ordered: false) { $0 },
                          stage: "parallelMap", parameter: "ordered", saved: "true", current: "false")
    }

    @Test func aSettingDeepInsideAPipelineIsFoundThroughStagesWithoutSettings() throws {
        func pipeline(_ seed: UInt64) -> some Dataset<(Int, Int)> {
            RangeDataset(0..<50).shuffle(bufferSize: 8, seed: seed).map { $0 * 2 }.filter { $0 % 3 != 0 }
                .zip(RangeDataset(0..<50)).prefetch(2)
        }
        try expectRefused(pipeline(1), into: pipeline(2), stage: "shuffle", parameter: "seed", saved: "1", current: "2")
        let rows = try Slices(try Tensor<Double>(shape: [40, 2], scalars: (0..<80).map(Double.init)))
        try expectRefused(rows.shuffle(bufferSize: 8, seed: 1).batch(4).unbatch(),
                          into: rows.shuffle(bufferSize: 8, seed: 1).batch(5).unbatch(), pull: 6,
                          stage: "batch", parameter: "size", saved: "4", current: "5")
        try expectRefused(RangeDataset(0..<20).concatenate(RangeDataset(0..<5)).enumerate().cache(),
                          into: RangeDataset(0..<20).concatenate(RangeDataset(0..<6)).enumerate().cache(),
                          pull: 22, stage: "range", parameter: "range", saved: "0..<5", current: "0..<6")
        try expectRefused(RangeDataset(0..<20).eraseToAnyDataset(), into: RangeDataset(0..<21).eraseToAnyDataset(),
                          stage: "range", parameter: "range", saved: "0..<20", current: "0..<21")
    }

    @Test func everyAdaptorStillResumesItsOwnStateExactly() throws {
        let base = RangeDataset(0..<30)
        try expectResumesExactly(base.repeat(3), total: 90, cuts: [0, 31, 89])
        try expectResumesExactly(base.take(5), total: 5, cuts: [2])
        try expectResumesExactly(base.skip(2), total: 28, cuts: [0, 3])
        try expectResumesExactly(base.shard(count: 3, index: 1), total: 10, cuts: [4])
        try expectResumesExactly(base.map(parallelism: 2) { $0 + 1 }, total: 30, cuts: [7])
        try expectResumesExactly(base.shuffle(bufferSize: 7, seed: 9, reshuffleEachIteration: false).repeat(2),
                                 total: 60, cuts: [5, 33])
        try expectResumesExactly(SequenceDataset([1, 2, 3, 4]), total: 4, cuts: [2])
        try expectResumesExactly(GeneratorDataset(cardinality: .finite(6)) { $0 < 6 ? $0 : nil }, total: 6, cuts: [3])
        let rows = try Slices(try Tensor<Double>(shape: [30, 2], scalars: (0..<60).map(Double.init)))
        try expectResumesExactly(rows.batch(4, dropRemainder: true).unbatch(), total: 28, cuts: [5]) { $0.scalars }
    }

    /// States written before settings were recorded have no `parameters`: they restore, and
    /// resume exactly, with the settings unchecked.
    @Test func statesWithoutSettingsStillRestore() throws {
        // Written by the previous version (no "parameters" key anywhere).
        let legacy = #"{"children":[],"counters":[3],"indices":[],"kind":"range","seeds":[]}"#
        var range = try RangeDataset(0..<10).makeIterator(resumingFrom: IteratorState(encoded: Data(legacy.utf8)))
        #expect(try pull(&range, 10) == [3, 4, 5, 6, 7, 8, 9])

        let pipeline = RangeDataset(0..<100).shuffle(bufferSize: 10, seed: 42).repeat().batch(4).prefetch(2)
        var reference = pipeline.makeIterator()
        _ = try pull(&reference, 5)
        let stripped = Self.withoutParameters(reference.state)
        let bytes = try stripped.encoded()
        #expect(!String(decoding: bytes, as: UTF8.self).contains("parameters"))
        var resumed = try pipeline.makeIterator(resumingFrom: IteratorState(encoded: bytes))
        #expect(try pull(&resumed, 40) == pull(&reference, 40))
        // Unchecked means exactly that: an old state is taken at its word.
        _ = try RangeDataset(0..<100).shuffle(bufferSize: 10, seed: 43).repeat().batch(4).prefetch(2)
            .makeIterator(resumingFrom: IteratorState(encoded: bytes))
    }

    /// The settings cost a few dozen bytes per stage; the shuffle buffer still dominates.
    @Test func settingsKeepStatesSmall() throws {
        var iterator = RangeDataset(0..<1_000).shuffle(bufferSize: 100, seed: 42).repeat().batch(8).makeIterator()
        _ = try pull(&iterator, 3)
        let withSettings = try iterator.state.encoded().count
        let without = try Self.withoutParameters(iterator.state).encoded().count
        #expect(withSettings - without < 400, "settings added \(withSettings - without) bytes")
    }

    /// The sizes the Getting Started article quotes: a few hundred bytes plus one JSON integer
    /// per element in the shuffle buffer.
    @Test func theDocumentedStateSizesHold() throws {
        /// The largest state over the first `batches` batches (prefetch describes the delivered
        /// batches from a snapshot every 256, so early states are smaller).
        func largestState(rows: Int, buffer: Int, batch: Int, batches: Int) throws -> Int {
            let x = try Tensor<Float>(shape: [rows, 1], scalars: (0..<rows).map(Float.init))
            let pipeline = try Slices(x, x).shuffle(bufferSize: buffer, seed: 18).repeat().batch(batch).prefetch(2)
            var iterator = pipeline.makeIterator()
            var largest = 0
            for _ in 0..<batches {
                _ = try iterator.next()
                largest = Swift.max(largest, try iterator.state.encoded().count)
            }
            return largest
        }
        let gettingStarted = try largestState(rows: 1_000, buffer: 1_000, batch: 32, batches: 300)
        #expect((3_000...5_000).contains(gettingStarted), "\(gettingStarted) bytes")
        let large = try largestState(rows: 200_000, buffer: 10_000, batch: 128, batches: 300)
        #expect((55_000...75_000).contains(large), "\(large) bytes")
        let unshuffled = try Slices(Tensor<Float>(zeros: [200_000, 1])).repeat().batch(128).prefetch(2)
        var iterator = unshuffled.makeIterator()
        _ = try iterator.next()
        let plain = try iterator.state.encoded().count
        #expect(plain < 600, "\(plain) bytes")
    }

    @Test func theMismatchMessageNamesTheStageTheSettingAndBothValues() {
        let message = DatasetError.mismatchedState(stage: "shuffle", parameter: "bufferSize", saved: "10000", current: "1000")
            .localizedDescription
        #expect(message.contains("'shuffle'") && message.contains("bufferSize 10000") && message.contains("bufferSize 1000"))
    }

    static func withoutParameters(_ state: IteratorState) -> IteratorState {
        var copy = state
        copy.parameters = nil
        copy.children = state.children.map(withoutParameters)
        return copy
    }
}

