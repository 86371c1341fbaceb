/// A random-access dataset passed over `count` times, or forever, itself random-access: element
/// `i` is element `i % base.count` of pass `i / base.count`, and pass `k` reads its base with
/// the same pass epoch as `repeat` on a streaming dataset (epoch `k`, or
/// `SplitMix64.derivedSeed(e, k)` when the repeat itself runs in epoch `e > 0`), so a global
/// shuffle below draws a new permutation in every pass.
///
/// A forever-repeat has `count == Int.max` and cardinality `.infinite`; a repeat of an empty
/// dataset is empty.
///
/// ```swift
/// try RangeDataset(0..<3).repeat(2).collect()                       // [0, 1, 2, 0, 1, 2]
/// try RangeDataset(0..<3).globalShuffle(seed: 1).repeat().element(at: 4)  // from the 2nd pass's order
/// ```
public struct RandomAccessRepeated<Base: RandomAccessDataset>: RandomAccessDataset {
    public typealias Element = Base.Element
    public typealias Iterator = RandomAccessIterator<Self>
    /// The dataset passed over again.
    public let base: Base
    /// The number of passes; `nil` repeats forever.
    public let repetitions: Int?

    public var count: Int {
        let n = base.count
        guard n > 0, repetitions != 0 else { return 0 }
        guard let repetitions else { return .max }
        let (total, overflow) = n.multipliedReportingOverflow(by: repetitions)
        return overflow ? .max : total
    }

    public var cardinality: Cardinality { count == .max ? .infinite : .finite(count) }

    public func element(at index: Int) throws -> Element { try element(at: index, epoch: 0) }

    public func element(at index: Int, epoch: UInt64) throws -> Element {
        try checkIndex(index, source: "repeat")
        let n = base.count
        return try base.element(at: index % n, epoch: Repeated<Base>.passEpoch(epoch, index / n))
    }

    /// Gathered from the base when all `indices` fall in one pass (a batch spanning two passes
    /// is read element by element).
    public func stackedElements(at indices: [Int], epoch: UInt64) throws -> Element? {
        guard let first = indices.first else { return nil }
        try checkIndex(first, source: "repeat")
        // One division for the batch: every index must lie in `first`'s pass, `start..<start + n`,
        // which lies inside `0..<count`, so that test also checks the index.
        let n = base.count, pass = first / n, start = pass * n
        var inPass = true
        let positions = indices.map { index in
            inPass = inPass && index >= start && index - start < n
            return index &- start
        }
        guard inPass else {
            try checkIndices(indices, source: "repeat")
            return nil
        }
        return try base.stackedElements(at: positions, epoch: Repeated<Base>.passEpoch(epoch, pass))
    }

    public var accessStages: [RandomAccessStage] {
        var stage = RandomAccessStage(kind: "repeat", parameters: ["count": repetitions.map { "\($0)" } ?? "forever"])
        stage.inputCount = base.count
        return base.accessStages + [stage]
    }

    public func validate() throws { try base.validate() }
}

extension RandomAccessDataset {
    /// Repeats the dataset `count` times; `nil` (or a negative count) repeats forever. The
    /// result stays random-access (see ``RandomAccessRepeated``).
    public func `repeat`(_ count: Int? = nil) -> RandomAccessRepeated<Self> {
        RandomAccessRepeated(base: self, repetitions: count.flatMap { $0 < 0 ? nil : $0 })
    }
}

/// A buffered `shuffle` over a repeat of tensor slices (`Slices(x).repeat().shuffle(bufferSize:)`)
/// keeps the index fast path of `batch` (see `RowIndices`): the repeat's row order is the
/// streaming repeat's, and its state there is the streaming repeat's, which this repeat's
/// iterator also restores.
extension RandomAccessRepeated: RowIndexed where Base: RowIndexed {
    var rowIndices: RowIndices? { base.rowIndices.map { RowIndices(node: .repeat($0, count: repetitions)) } }
    func rowGatherer<T>(as type: T.Type) -> (@Sendable (UnsafeBufferPointer<Int>) -> T)? { base.rowGatherer(as: type) }
}
