/// A random-access dataset whose element `i` is `transform(base.element(at: i))`: `map` over a
/// random-access dataset, computed when an element is read.
///
/// ```swift
/// let squares = RangeDataset(0..<10).map { $0 * $0 }
/// try squares.element(at: 4)               // 16
/// ```
public struct RandomAccessMapped<Base: RandomAccessDataset, Element>: RandomAccessDataset {
    public typealias Iterator = RandomAccessIterator<Self>
    /// The dataset whose elements are transformed.
    public let base: Base
    let transform: @Sendable (Base.Element) throws -> Element

    public var count: Int { base.count }

    public func element(at index: Int) throws -> Element { try element(at: index, epoch: 0) }

    public func element(at index: Int, epoch: UInt64) throws -> Element {
        let element = try base.element(at: index, epoch: epoch)
        do { return try transform(element) } catch let error as DatasetError {
            throw error
        } catch {
            throw DatasetError.functionFailed(stage: "map", index: index, underlying: error)
        }
    }

    public var accessStages: [RandomAccessStage] { base.accessStages + [RandomAccessStage(kind: "map")] }
    public func validate() throws { try base.validate() }
    public func globalPosition(afterYielding position: Int) -> Int? { base.globalPosition(afterYielding: position) }
    public func resumingShards(atGlobalPosition globalPosition: Int) -> Self {
        RandomAccessMapped(base: base.resumingShards(atGlobalPosition: globalPosition), transform: transform)
    }
    /// The base's preferred order: `map` keeps positions, so its base's block layout still holds.
    public func preferredShuffleOrder(seed: UInt64) -> BlockShuffledIndices? { base.preferredShuffleOrder(seed: seed) }
}

extension RandomAccessDataset {
    /// Applies `transform` to every element when it is read; the result stays random-access.
    public func map<T>(_ transform: @escaping @Sendable (Element) throws -> T) -> RandomAccessMapped<Self, T> {
        RandomAccessMapped(base: self, transform: transform)
    }
}

/// The elements `range` of a random-access dataset: element `i` is `base.element(at:
/// range.lowerBound + i)`, and nothing outside the range is read.
///
/// ```swift
/// try RangeDataset(0..<100).slice(10..<13).collect()       // [10, 11, 12]
/// ```
public struct RandomAccessSlice<Base: RandomAccessDataset>: RandomAccessDataset {
    public typealias Element = Base.Element
    public typealias Iterator = RandomAccessIterator<Self>
    /// The dataset sliced.
    public let base: Base
    /// The positions of the base kept; must lie in `0...base.count`.
    public let range: Range<Int>

    public var count: Int { range.count }

    public func element(at index: Int) throws -> Element { try element(at: index, epoch: 0) }

    public func element(at index: Int, epoch: UInt64) throws -> Element {
        try checkIndex(index, source: "slice \(range)")
        return try base.element(at: range.lowerBound + index, epoch: epoch)
    }

    public func stackedElements(at indices: [Int], epoch: UInt64) throws -> Element? {
        try checkIndices(indices, source: "slice \(range)")
        return try base.stackedElements(at: indices.map { range.lowerBound + $0 }, epoch: epoch)
    }

    public var accessStages: [RandomAccessStage] {
        base.accessStages + [RandomAccessStage(kind: "slice", parameters: ["range": "\(range)"])]
    }

    public func validate() throws {
        try base.validate()
        guard range.lowerBound >= 0 && range.upperBound <= base.count else {
            throw DatasetError.invalidArgument(stage: "slice", reason: "range \(range) is not within 0..<\(base.count)")
        }
    }
}

extension RandomAccessDataset {
    /// The elements at positions `range` (see ``RandomAccessSlice``); `range` must lie within
    /// `0...count` (checked when iterated or read).
    public func slice(_ range: Range<Int>) -> RandomAccessSlice<Self> { RandomAccessSlice(base: self, range: range) }
}
