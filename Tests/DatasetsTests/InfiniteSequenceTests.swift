import Synchronization
import Testing
@testable import Datasets

/// An infinite sequence 0, 1, 2, ... with a tripwire: it counts every element any of its
/// iterators produces and ends after `tripwire` of them, so code that iterates it eagerly (the
/// old hang) finishes quickly and fails the count checks instead of hanging the suite.
final class CountingNaturals: Sequence, Sendable {
    let produced = Atomic<Int>(0)
    let tripwire: Int
    init(tripwire: Int = 100_000) { self.tripwire = tripwire }

    struct Iterator: IteratorProtocol {
        let owner: CountingNaturals
        var value = 0
        mutating func next() -> Int? {
            let total = owner.produced.add(1, ordering: .relaxed).newValue
            guard total <= owner.tripwire else { return nil }
            defer { value += 1 }
            return value
        }
    }

    func makeIterator() -> Iterator { Iterator(owner: self) }
}

@Suite struct InfiniteSequenceTests {
    @Test func buildingADatasetOverAnInfiniteSequenceIteratesNothing() {
        let naturals = CountingNaturals()
        let dataset = SequenceDataset(naturals)
        #expect(naturals.produced.load(ordering: .relaxed) == 0)
        #expect(dataset.cardinality == .unknown)
        #expect(SequenceDataset(naturals, cardinality: .infinite).cardinality == .infinite)
    }

    @Test func takeFromAnInfiniteSequencePullsOnlyWhatItReturns() throws {
        let naturals = CountingNaturals()
        let firstFive = SequenceDataset(naturals, cardinality: .infinite).take(5)
        #expect(firstFive.cardinality == .finite(5))
        #expect(try firstFive.collect() == [0, 1, 2, 3, 4])
        #expect(naturals.produced.load(ordering: .relaxed) <= 5)
        #expect(SequenceDataset(naturals).take(5).cardinality == .unknown)
    }

    @Test func lazyAdaptorsGoThroughTheFactoryAndStayLazy() throws {
        // The annotation pins the lazy type: an eager `map` (an Array) would not compile here.
        let squares: SequenceDataset<LazyMapSequence<PartialRangeFrom<Int>, Int>> =
            SequenceDataset(cardinality: .infinite) { (1...).lazy.map { $0 * $0 } }
        #expect(try squares.take(5).collect() == [1, 4, 9, 16, 25])
        #expect(squares.repeat().cardinality == .infinite)
        #expect(try squares.collect(limit: 3) == [1, 4, 9])
        #expect(throws: DatasetError.self) { try squares.collect() }
    }

    @Test func unfoldSequencesWork() throws {
        let powers = SequenceDataset(sequence(first: 1) { $0 * 2 })
        #expect(try powers.take(5).collect() == [1, 2, 4, 8, 16])
    }

    @Test func anInfiniteSequenceResumesMidway() throws {
        let naturals = CountingNaturals()
        let dataset = SequenceDataset(naturals, cardinality: .infinite).batch(3).take(4)
        try expectResumesExactly(dataset, total: 4, cuts: [0, 1, 3, 4], key: { $0 })
        #expect(naturals.produced.load(ordering: .relaxed) < 1_000)
    }
}

/// The hang that used to happen when a lazy `map`/`filter` over an infinite range was passed
/// straight to `SequenceDataset` (Swift chose the eager `map`): such calls now resolve to
/// refusing overloads. Deprecated, because calling those overloads is deprecated on purpose.
@Suite struct LazyAdaptorOverloadTests {
    // Without the overloads this would hang; the time limit turns that into a failure.
    @available(*, deprecated, message: "calls the deliberately deprecated refusing overloads")
    @Test(.timeLimit(.minutes(1))) func aLazyMapOrFilterOverAnInfiniteRangeIsRefusedInsteadOfRunningForever() {
        #expect(throws: DatasetError.self) { _ = try SequenceDataset((1...).lazy.map { $0 * 2 }) }
        #expect(throws: DatasetError.self) { _ = try SequenceDataset((1...).lazy.filter { $0 > 2 }, cardinality: .infinite) }
        #expect(throws: DatasetError.self) { _ = try SequenceDataset((1...).lazy.filter { $0 > 2 }.map { $0 + 1 }) }
    }

    @Test func aLazyMapOrFilterOverACollectionIsMaterialized() throws {
        let doubled = SequenceDataset((1...5).lazy.map { $0 * 2 })
        #expect(doubled.cardinality == .finite(5))
        #expect(try doubled.collect() == [2, 4, 6, 8, 10])
        let large = SequenceDataset((1...6).lazy.filter { $0 > 3 })
        #expect(try large.collect() == [4, 5, 6])
    }
}
