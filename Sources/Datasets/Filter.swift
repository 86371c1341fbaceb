/// The elements of a base dataset for which a predicate holds.
///
/// ```swift
/// try RangeDataset(0..<10).filter { $0 % 2 == 0 }.collect()     // [0, 2, 4, 6, 8]
/// ```
public struct Filtered<Base: Dataset>: Dataset {
    public typealias Element = Base.Element
    /// The dataset whose elements are tested.
    public let base: Base
    let isIncluded: @Sendable (Base.Element) throws -> Bool

    /// Unknown unless the base is empty or infinite (tf.data's rule).
    public var cardinality: Cardinality {
        switch base.cardinality {
        case .finite(0): return .finite(0)
        case .infinite: return .infinite
        default: return .unknown
        }
    }

    public func makeIterator(epoch: UInt64) -> Iterator {
        Iterator(base: base.makeIterator(epoch: epoch), isIncluded: isIncluded, index: 0)
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("filter", counters: 1, children: 1)
        return Iterator(base: try base.makeIterator(resumingFrom: state.children[0]),
                        isIncluded: isIncluded, index: state.counters[0])
    }

    /// Skips the elements the predicate rejects.
    public struct Iterator: DatasetIterator {
        var base: Base.Iterator
        let isIncluded: @Sendable (Base.Element) throws -> Bool
        var index: Int

        public mutating func next() throws -> Element? {
            while let element = try base.next() {
                defer { index += 1 }
                let keep: Bool
                do { keep = try isIncluded(element) } catch {
                    throw DatasetError.functionFailed(stage: "filter", index: index, underlying: error)
                }
                if keep { return element }
            }
            return nil
        }

        /// `counters`: [input elements seen]; `children`: [base].
        public var state: IteratorState {
            IteratorState(kind: "filter", counters: [index], children: [base.state])
        }
    }
}

extension Dataset {
    /// Keeps the elements for which `isIncluded` returns `true`.
    public func filter(_ isIncluded: @escaping @Sendable (Element) throws -> Bool) -> Filtered<Self> {
        Filtered(base: self, isIncluded: isIncluded)
    }
}
