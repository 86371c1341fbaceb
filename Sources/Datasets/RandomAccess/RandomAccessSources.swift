// The in-memory sources are random-access. Their streaming iterators and states are unchanged
// (a pipeline of streaming adaptors over them restores states written before this protocol).

extension Slices: RandomAccessDataset {
    /// Element `index`.
    /// - Throws: ``DatasetError/indexOutOfRange(source:index:count:)`` naming this source.
    public func element(at index: Int) throws -> Element {
        try checkIndex(index, source: name)
        return fetch(index)
    }

    /// For tensor slices, the rows at `indices` copied straight into one batch (see
    /// `gatherRows`); `nil` for closure-built or array slices.
    public func stackedElements(at indices: [Int], epoch: UInt64) throws -> Element? {
        guard let gather else { return nil }
        try checkIndices(indices, source: name)
        return indices.withUnsafeBufferPointer { gather($0) }
    }

    /// `slices` with its `count`.
    public var accessStages: [RandomAccessStage] { [RandomAccessStage(kind: "slices", parameters: stateParameters)] }
}

extension RangeDataset: RandomAccessDataset {
    /// The number of integers.
    public var count: Int { range.count }

    /// `range.lowerBound + index`.
    /// - Throws: ``DatasetError/indexOutOfRange(source:index:count:)``.
    public func element(at index: Int) throws -> Int {
        try checkIndex(index, source: "range \(range)")
        return range.lowerBound + index
    }

    /// `range` with its bounds.
    public var accessStages: [RandomAccessStage] { [RandomAccessStage(kind: "range", parameters: Self.stateParameters(range))] }
}
