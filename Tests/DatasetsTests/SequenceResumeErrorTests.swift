import Testing
@testable import Datasets

/// A `SequenceDataset` of unknown length resumed from a state saved further in than the
/// sequence now reaches (the sequence is rebuilt from a closure, so it may have shrunk):
/// `DatasetError.incompatibleState` naming the saved position and where the sequence ends.
/// Before stop 21 no test reached this check, and its message had the two sides swapped
/// ("the saved state is for 'a shorter sequence'").
@Suite("A sequence resumed past its end names the saved position and its length")
struct SequenceResumeErrorTests {
    static func sequence(_ count: Int) -> SequenceDataset<AnySequence<Int>> {
        SequenceDataset(cardinality: .unknown) { AnySequence(0..<count) }
    }

    @Test("a state at position 5 restored into a sequence of 3")
    func resumePastTheEnd() throws {
        var long = Self.sequence(10).makeIterator()
        for _ in 0..<5 { _ = long.next() }
        let state = long.state
        do {
            _ = try Self.sequence(3).makeIterator(resumingFrom: state)
            Issue.record("a shorter sequence resumed")
        } catch let DatasetError.incompatibleState(expected, found) {
            #expect(expected == "a sequence that ends after 3 elements" && found == "position 5 of a sequence", "\(expected) / \(found)")
            #expect(DatasetError.incompatibleState(expected: expected, found: found).localizedDescription
                    == "cannot resume: the saved state is for 'position 5 of a sequence' but this pipeline stage is "
                    + "'a sequence that ends after 3 elements'")
        }
        // A sequence that still reaches the position continues from it.
        var resumed = try Self.sequence(6).makeIterator(resumingFrom: state)
        #expect(resumed.next() == 5 && resumed.next() == nil)
    }
}
