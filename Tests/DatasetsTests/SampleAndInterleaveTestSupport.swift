import Foundation
import Testing
@testable import Datasets

/// Checks that at every cut the restored iterator reports the state it was restored from, so
/// nothing (an end-of-input flag, a turn position) is lost in the round trip even where the
/// elements that follow would not show it.
func expectStateRoundTrips<D: Dataset>(_ dataset: D, cuts: [Int], epoch: UInt64 = 0,
                                       sourceLocation: SourceLocation = #_sourceLocation) throws {
    for cut in cuts {
        var iterator = dataset.makeIterator(epoch: epoch)
        _ = try pull(&iterator, cut)
        let saved = try IteratorState(encoded: iterator.state.encoded())
        let restored = try dataset.makeIterator(resumingFrom: saved)
        #expect(restored.state == saved, "after \(cut) elements", sourceLocation: sourceLocation)
    }
}

/// Saves the state of `reference` after `count` elements (through JSON) and expects `other` to
/// refuse it with `DatasetError.mismatchedState` naming `stage`, `parameter` and both values.
func expectMismatch<A: Dataset, B: Dataset>(
    saving reference: A, after count: Int, into other: B, stage: String, parameter: String,
    saved: String, current: String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    var iterator = reference.makeIterator()
    _ = try pull(&iterator, count)
    let state = try IteratorState(encoded: iterator.state.encoded())
    #expect(sourceLocation: sourceLocation) {
        _ = try other.makeIterator(resumingFrom: state)
    } throws: { error in
        guard case let DatasetError.mismatchedState(gotStage, gotParameter, gotSaved, gotCurrent) = error else {
            return false
        }
        return [gotStage, gotParameter, gotSaved, gotCurrent] == [stage, parameter, saved, current]
    }
}
