/// A dataset whose elements are `transform(element)` of its base, computed on the consumer's
/// thread as they are pulled. Its iterator state is the base's (the function keeps no state).
///
/// ```swift
/// let floats = try Slices(x, y).map { (x, y) in (x.converted(to: Float.self), y.converted(to: Float.self)) }
/// ```
public struct Mapped<Base: Dataset, Element>: Dataset {
    /// The dataset whose elements are transformed.
    public let base: Base
    let transform: @Sendable (Base.Element) throws -> Element

    public var cardinality: Cardinality { base.cardinality }

    public func makeIterator(epoch: UInt64) -> Iterator {
        Iterator(base: base.makeIterator(epoch: epoch), transform: transform, index: 0)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("map", counters: 1, children: 1)
        return Iterator(base: try base.makeIterator(resumingFrom: state.children[0]),
                        transform: transform, index: state.counters[0])
    }

    /// Applies the function to each base element.
    public struct Iterator: DatasetIterator {
        var base: Base.Iterator
        let transform: @Sendable (Base.Element) throws -> Element
        var index: Int

        public mutating func next() throws -> Element? {
            guard let element = try base.next() else { return nil }
            defer { index += 1 }
            do { return try transform(element) } catch let error as DatasetError {
                throw error
            } catch {
                throw DatasetError.functionFailed(stage: "map", index: index, underlying: error)
            }
        }

        /// `counters`: [elements mapped]; `children`: [base].
        public var state: IteratorState {
            IteratorState(kind: "map", counters: [index], children: [base.state])
        }
    }
}

extension Dataset {
    /// Applies `transform` to every element, lazily, on the thread that pulls.
    public func map<T>(_ transform: @escaping @Sendable (Element) throws -> T) -> Mapped<Self, T> {
        Mapped(base: self, transform: transform)
    }
}
