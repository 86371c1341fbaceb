/// A type-erased dataset, for storing and passing pipelines without spelling their nested
/// generic types. Costs one indirect call per element.
///
/// ```swift
/// let train: AnyDataset<(Tensor<Float>, Tensor<Float>)> =
///     try Slices(x, y).shuffle(bufferSize: 1_000, seed: 1).repeat().batch(32).eraseToAnyDataset()
/// ```
public struct AnyDataset<Element>: Dataset {
    private let makeFresh: @Sendable (UInt64) -> AnyDatasetIterator<Element>
    private let makeResumed: @Sendable (IteratorState) throws -> AnyDatasetIterator<Element>
    /// The erased dataset's cardinality, captured when it was erased.
    public let cardinality: Cardinality

    /// Erases the type of `base`.
    public init<D: Dataset>(_ base: D) where D.Element == Element {
        if let already = base as? AnyDataset<Element> {
            self = already
            return
        }
        makeFresh = { AnyDatasetIterator(base.makeIterator(epoch: $0)) }
        makeResumed = { AnyDatasetIterator(try base.makeIterator(resumingFrom: $0)) }
        cardinality = base.cardinality
    }

    public func makeIterator(epoch: UInt64) -> AnyDatasetIterator<Element> { makeFresh(epoch) }

    public func makeIterator(resumingFrom state: IteratorState) throws -> AnyDatasetIterator<Element> {
        try makeResumed(state)
    }
}

/// A type-erased dataset iterator. Copies share one underlying iterator (it lives in a box).
///
/// ```swift
/// var it: AnyDatasetIterator<Int> = AnyDatasetIterator(RangeDataset(0..<3).makeIterator())
/// ```
public struct AnyDatasetIterator<Element>: DatasetIterator {
    private let box: AnyIteratorBox<Element>

    /// Erases the type of `base`; the copy owns it from now on, so advance only the erased one.
    public init<I: DatasetIterator>(_ base: I) where I.Element == Element {
        box = IteratorBox(base)
    }

    public mutating func next() throws -> Element? { try box.next() }

    public var state: IteratorState { box.state }
}

class AnyIteratorBox<Element> {
    func next() throws -> Element? { fatalError("abstract") }
    var state: IteratorState { fatalError("abstract") }
}

final class IteratorBox<Base: DatasetIterator>: AnyIteratorBox<Base.Element> {
    var base: Base
    init(_ base: Base) { self.base = base }
    override func next() throws -> Base.Element? { try base.next() }
    override var state: IteratorState { base.state }
}

extension Dataset {
    /// This dataset behind a type-erased ``AnyDataset``.
    public func eraseToAnyDataset() -> AnyDataset<Element> { AnyDataset(self) }
}
