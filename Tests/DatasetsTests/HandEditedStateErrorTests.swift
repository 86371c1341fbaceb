import Foundation
import Testing
@testable import Datasets
import Tensors

/// Iterator states edited by hand (or saved by another pipeline) that the stages' kind and
/// parameter checks let through, but whose numbers do not fit: each is refused with
/// `DatasetError.incompatibleState` naming what the stage expected and the number it found,
/// never a crash or a silently different position.
@Suite("Hand-edited iterator states are refused naming the stage's expectation and the number found")
struct HandEditedStateErrorTests {
    /// Runs `body`; requires `DatasetError.incompatibleState` with exactly `expected` and `found`.
    private func expectIncompatible(_ expected: String, _ found: String, sourceLocation: SourceLocation = #_sourceLocation,
                                    _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("no error; expected '\(expected)' / '\(found)'", sourceLocation: sourceLocation)
        } catch let error as DatasetError {
            guard case let .incompatibleState(gotExpected, gotFound) = error else {
                Issue.record("unexpected case \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(gotExpected == expected && gotFound == found, "\(gotExpected) / \(gotFound)", sourceLocation: sourceLocation)
            #expect(error.localizedDescription == "cannot resume: the saved state is for '\(found)' but this pipeline stage is '\(expected)'",
                    sourceLocation: sourceLocation)
        } catch {
            Issue.record("untyped error \(error)", sourceLocation: sourceLocation)
        }
    }

    private func stream(_ count: Int) -> GeneratorDataset<Int> { DatasetErrorMessageTests.stream(count) }

    @Test("a slices state before the start or past the end")
    func slicesPosition() throws {
        let data = Slices([10, 11, 12, 13, 14])
        var iterator = data.makeIterator()
        _ = iterator.next()
        var state = iterator.state
        try #require(state.kind == "slices" && state.counters == [1])
        for position in [-1, 6] {
            state.counters[0] = position
            expectIncompatible("slices of 5 elements", "slices at position \(position)") { _ = try data.makeIterator(resumingFrom: state) }
        }
        state.counters[0] = 5   // the end is a valid place to resume
        var resumed = try data.makeIterator(resumingFrom: state)
        #expect(resumed.next() == nil)
    }

    /// Sampling from streams of 3 and 4 integers, and its state after one element.
    private func sampleAfterOne() throws -> (data: Sampled<GeneratorDataset<Int>>, state: IteratorState) {
        let data = try sample(from: [stream(3), stream(4)], seed: 1)
        var iterator = data.makeIterator()
        _ = try iterator.next()
        try #require(iterator.state.kind == "sample")
        return (data, iterator.state)
    }

    @Test("a sample state naming a source it does not have, or one source twice, as exhausted")
    func sampleExhaustedSources() throws {
        let (data, state) = try sampleAfterOne()
        for indices in [[2], [0, 0], [-1]] {
            var edited = state
            edited.indices = indices
            expectIncompatible("sample exhausted sources in 0..<2", "\(indices)") { _ = try data.makeIterator(resumingFrom: edited) }
        }
    }

    @Test("a sample state whose packed source states name a source out of range or leave numbers over")
    func samplePackedSources() throws {
        let (data, state) = try sampleAfterOne()
        var outOfRange = state
        outOfRange.children[0].counters = [5]
        outOfRange.children[0].children = [state.children[0].children.first ?? state]
        expectIncompatible("sample states of 2 sources", "whole states for sources [5]") {
            _ = try data.makeIterator(resumingFrom: outOfRange)
        }
        var extraSeeds = state
        extraSeeds.children[0].seeds += [7]
        let found = try #require(expectThrowsIncompatible { _ = try data.makeIterator(resumingFrom: extraSeeds) })
        #expect(found.expected == "sample numbers for 2 sources" && found.found.hasSuffix("left over"), "\(found)")
    }

    /// The `incompatibleState` `body` throws, or nil (recorded) when it throws another error or none.
    private func expectThrowsIncompatible(sourceLocation: SourceLocation = #_sourceLocation,
                                          _ body: () throws -> Void) -> (expected: String, found: String)? {
        do {
            try body()
        } catch let DatasetError.incompatibleState(expected, found) {
            return (expected, found)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
            return nil
        }
        Issue.record("no error", sourceLocation: sourceLocation)
        return nil
    }

    @Test("an unbatch state inside a batch when its input has ended")
    func unbatchPastTheEnd() throws {
        let batches = try Tensor<Float>(shape: [6, 1], scalars: (0..<6).map(Float.init))
        let data = try Slices(batches).batch(3).unbatch()
        var iterator = data.makeIterator()
        while try iterator.next() != nil {}
        var state = iterator.state
        try #require(state.kind == "unbatch" && state.counters == [0, 2])
        state.counters[0] = 1
        expectIncompatible("a batch to resume inside", "the end of the input") { _ = try data.makeIterator(resumingFrom: state) }
    }

    @Test("an interleave state at a slot or block outside its cycle, or past the inputs there are")
    func interleavePositions() throws {
        let data = interleave([stream(3), stream(3)], cycleLength: 2, blockLength: 2)
        var iterator = data.makeIterator()
        _ = try iterator.next()
        let state = iterator.state
        try #require(state.kind == "interleave" && state.counters.count == 5)
        let (pulled, from) = (state.counters[3], state.counters[4])
        for (index, value) in [(0, 2), (1, 2), (0, -1)] {
            var edited = state
            edited.counters[index] = value
            let found = try #require(expectThrowsIncompatible { _ = try data.makeIterator(resumingFrom: edited) }, "counter \(index) = \(value)")
            #expect(found.expected == "interleave of 2 slots over inputs \(from)..<\(pulled)", "\(found)")
            let (slot, block) = (edited.counters[0], edited.counters[1])
            #expect(found.found.hasPrefix("slot \(slot), block \(block), open inputs "), "\(found)")
        }
        // Two inputs: a state that says it pulled a third refers to inputs this pipeline lacks.
        var beyond = state
        beyond.counters[3] = 3
        expectIncompatible("interleave inputs of 3 datasets", "inputs that ended after 2") {
            _ = try data.makeIterator(resumingFrom: beyond)
        }
    }

    @Test("a prefetch state that skips past the end of its input")
    func prefetchSkipPastTheEnd() throws {
        let data = stream(5).prefetch(2)
        var iterator = data.makeIterator()
        _ = try iterator.next()
        var state = iterator.state
        try #require(state.kind == "prefetch" && state.counters.count == 2)
        state.counters[1] = 10
        expectIncompatible("prefetch input with at least 10 more elements", "an input that ended after \(5 - state.counters[0])") {
            _ = try data.makeIterator(resumingFrom: state)
        }
    }

    @Test("a sharded random-access state at a negative global position")
    func randomAccessNegativeGlobalPosition() throws {
        let data = RangeDataset(0..<20).globalShuffle(seed: 5).shard(count: 2, index: 0).batch(4)
        var iterator = data.makeIterator()
        _ = try iterator.next()
        var state = iterator.state
        try #require(state.kind == "randomAccess" && state.counters.count == 2)
        state.counters[1] = -3
        expectIncompatible("a global position >= 0", "global position -3") { _ = try data.makeIterator(resumingFrom: state) }
    }

    @Test("a shuffle state that pulled more elements than its input has")
    func shuffleInputTooShort() throws {
        let data = stream(20).shuffle(bufferSize: 4, seed: 1)
        var iterator = data.makeIterator()
        _ = try iterator.next()
        var state = iterator.state
        try #require(state.kind == "shuffle" && state.counters.count == 3)
        state.counters[0] = 30
        expectIncompatible("shuffle input of 30 elements", "an input that ended after 20") { _ = try data.makeIterator(resumingFrom: state) }
    }
}
