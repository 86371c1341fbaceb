/// The elements of many datasets, taken `blockLength` at a time from `cycleLength` of them in
/// turn: tf.data's deterministic `interleave`. The datasets are the elements of `inputs` (a
/// dataset of datasets, say one `HDF5Rows` per file), opened in their order as slots of the
/// cycle free up. Built with ``Dataset/interleave(cycleLength:blockLength:)`` or
/// ``interleave(_:cycleLength:blockLength:)``; <doc:InterleaveDatasets> details the order, the state
/// and the costs.
///
/// The order, exactly as tf.data's: the cycle has `cycleLength` slots and starts at slot 0.
/// At an empty slot, the next input dataset is opened into it (when the inputs are exhausted,
/// the slot is skipped). From an open slot, elements are taken until `blockLength` have come
/// from it in this turn, then the turn passes to the next slot (after the last, slot 0); a slot
/// whose dataset ends is emptied and the turn passes on at once. The pass ends when the inputs
/// are exhausted and every slot is empty. With inputs `a = [a0 ... a5]`, `b = [b0 b1]`,
/// `c = [c0 ... c4]`, `cycleLength: 2, blockLength: 2`:
///
/// ```text
/// a0 a1  b0 b1  a2 a3  a4 a5  c0 c1  c2 c3  c4
/// ```
///
/// (`b` has nothing left at its second turn, so the turn passes straight back to `a`; `c` opens
/// in slot 1 at the next turn there; once `a` ends, no input is left to open into slot 0, so `c`
/// has every turn.)
///
/// ```swift
/// let files = [RangeDataset(0..<6), RangeDataset(10..<12), RangeDataset(20..<25)]
/// try interleave(files, cycleLength: 2, blockLength: 2).collect()
/// // [0, 1, 10, 11, 2, 3, 4, 5, 20, 21, 22, 23, 24]
/// ```
public struct Interleaved<Inputs: Dataset>: Dataset where Inputs.Element: Dataset {
    public typealias Element = Inputs.Element.Element
    /// The datasets to interleave, in the order they are opened.
    public let inputs: Inputs
    /// How many input datasets are open at once.
    public let cycleLength: Int
    /// How many consecutive elements are taken from one dataset per turn.
    public let blockLength: Int
    /// The cardinality when the datasets are known up front (a list), else `nil`.
    let knownCardinality: Cardinality?

    init(inputs: Inputs, cycleLength: Int, blockLength: Int, knownCardinality: Cardinality? = nil) {
        self.inputs = inputs
        self.cycleLength = cycleLength
        self.blockLength = blockLength
        self.knownCardinality = knownCardinality
    }

    /// The sum of the datasets' counts for a list of them; for a dataset of datasets, 0 if it has
    /// none and otherwise unknown (the datasets are not known before iterating).
    public var cardinality: Cardinality {
        if let knownCardinality { return knownCardinality }
        return inputs.cardinality == .finite(0) ? .finite(0) : .unknown
    }

    /// The settings a saved state must match: cycle and block length, and the number of input
    /// datasets when it is known.
    var stateParameters: [String: String] {
        var parameters = ["cycleLength": "\(cycleLength)", "blockLength": "\(blockLength)"]
        if let count = inputs.cardinality.count { parameters["sources"] = "\(count)" }
        return parameters
    }

    /// Input states are snapshotted every this many inputs, so a restore re-reads at most about
    /// this many input datasets (descriptions, not their elements) beyond the oldest open one.
    var snapshotInterval: Int { Swift.max(cycleLength, 16) }

    public func makeIterator(epoch: UInt64) -> Iterator {
        let input = inputs.makeIterator(epoch: epoch)
        return Iterator(dataset: self, input: input, epoch: epoch,
                        log: ReplayLog(initial: input.state, interval: snapshotInterval))
    }

    public func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        try state.expect("interleave", counters: 5, seeds: 1, children: 2, parameters: stateParameters)
        let (cycleIndex, blockIndex, pulled, from) = (state.counters[0], state.counters[1], state.counters[3],
                                                      state.counters[4])
        let ordinals = try PackedIntegers.decode(state.parameters?["slots"], or: state.indices, stage: "interleave",
                                                 what: "slots")
        let open = ordinals.filter { $0 >= 0 }
        guard cycleLength >= 1, blockLength >= 1, ordinals.count == cycleLength,
              (0..<cycleLength).contains(cycleIndex), (0..<blockLength).contains(blockIndex),
              0 <= from, from <= pulled, open.allSatisfy({ $0 >= from && $0 < pulled }),
              Set(open).count == open.count
        else {
            throw DatasetError.incompatibleState(
                expected: "interleave of \(cycleLength) slots over inputs \(state.counters[4])..<\(state.counters[3])",
                found: "slot \(cycleIndex), block \(blockIndex), open inputs \(ordinals)")
        }
        let epoch = state.seeds[0]
        var input = try inputs.makeIterator(resumingFrom: state.children[0])
        var reopened: [Int: Inputs.Element] = [:]
        let openSet = Set(open)
        for ordinal in from..<pulled {
            guard let dataset = try input.next() else {
                throw DatasetError.incompatibleState(expected: "interleave inputs of \(pulled) datasets",
                                                     found: "inputs that ended after \(ordinal)")
            }
            if openSet.contains(ordinal) { reopened[ordinal] = dataset }
        }
        let datasets = open.map { reopened[$0]! }
        let skeletons = datasets.map { $0.makeIterator(epoch: epoch).state }
        let saved = try PackedSourceStates.unpack(state.children[1], skeletons: skeletons, stage: "interleave")
        var iterator = Iterator(dataset: self, input: input, epoch: epoch,
                                log: ReplayLog(initial: state.children[0], at: from, interval: snapshotInterval))
        var next = 0
        for (slot, ordinal) in ordinals.enumerated() where ordinal >= 0 {
            iterator.slots[slot] = Iterator.Slot(iterator: try datasets[next].makeIterator(resumingFrom: saved[next]),
                                                 skeleton: skeletons[next], ordinal: ordinal)
            next += 1
        }
        iterator.openCount = open.count
        iterator.cycleIndex = cycleIndex
        iterator.blockIndex = blockIndex
        iterator.inputsExhausted = state.counters[2] != 0
        iterator.pulled = pulled
        return iterator
    }

    /// One interleaved pass.
    public struct Iterator: DatasetIterator {
        /// An open input dataset: its iterator, its fresh state (its state is packed against it)
        /// and its position in the inputs.
        struct Slot {
            var iterator: Inputs.Element.Iterator
            let skeleton: IteratorState
            let ordinal: Int
        }

        let dataset: Interleaved
        var input: Inputs.Iterator
        let epoch: UInt64
        var log: ReplayLog
        var slots: [Slot?]
        var openCount = 0
        var cycleIndex = 0
        var blockIndex = 0
        var inputsExhausted = false
        /// Input datasets opened so far.
        var pulled = 0

        init(dataset: Interleaved, input: Inputs.Iterator, epoch: UInt64, log: ReplayLog) {
            self.dataset = dataset
            self.input = input
            self.epoch = epoch
            self.log = log
            self.slots = Array(repeating: nil, count: Swift.max(0, dataset.cycleLength))
        }

        mutating func advanceToNextSlot() {
            blockIndex = 0
            cycleIndex = (cycleIndex + 1) % slots.count
        }

        public mutating func next() throws -> Element? {
            guard dataset.cycleLength >= 1, dataset.blockLength >= 1 else {
                throw DatasetError.invalidArgument(
                    stage: "interleave",
                    reason: "cycleLength and blockLength must be >= 1, got \(dataset.cycleLength) and \(dataset.blockLength)")
            }
            while !inputsExhausted || openCount > 0 {
                if slots[cycleIndex] != nil {
                    if let element = try slots[cycleIndex]!.iterator.next() {
                        blockIndex += 1
                        if blockIndex == dataset.blockLength { advanceToNextSlot() }
                        return element
                    }
                    slots[cycleIndex] = nil
                    openCount -= 1
                    advanceToNextSlot()
                } else if !inputsExhausted {
                    guard let opened = try input.next() else { inputsExhausted = true; continue }
                    let iterator = opened.makeIterator(epoch: epoch)
                    slots[cycleIndex] = Slot(iterator: iterator, skeleton: iterator.state, ordinal: pulled)
                    openCount += 1
                    pulled += 1
                    if log.isDue(pulled) {
                        log.record(pulled, input.state)
                        log.prune(before: oldestOpenOrdinal)
                    }
                } else {
                    advanceToNextSlot()
                }
            }
            return nil
        }

        var oldestOpenOrdinal: Int { slots.compactMap { $0?.ordinal }.min() ?? pulled }

        /// `counters`: [slot whose turn it is, elements taken in this turn, inputs exhausted 0/1,
        /// input datasets opened, snapshot ordinal]; `seeds`: [epoch]; `children`: [inputs state
        /// at the snapshot ordinal, the open datasets' states in slot order, packed (see
        /// `PackedSourceStates`)]; `parameters`: cycleLength, blockLength, the number of inputs
        /// when known, and `slots`: per slot, the input position of its open dataset or -1,
        /// bit-packed (see `PackedIntegers`).
        public var state: IteratorState {
            let point = log.resumePoint(for: oldestOpenOrdinal)
            let open = slots.compactMap { $0 }
            let packed = PackedSourceStates.pack(open.map(\.iterator.state), skeletons: open.map(\.skeleton))
            var parameters = dataset.stateParameters
            parameters["slots"] = PackedIntegers.encode(slots.map { $0?.ordinal ?? -1 })
            return IteratorState(kind: "interleave",
                                 counters: [cycleIndex, blockIndex, inputsExhausted ? 1 : 0, pulled, point.ordinal],
                                 seeds: [epoch], children: [point.state, packed], parameters: parameters)
        }
    }
}

extension Dataset where Element: Dataset {
    /// The elements of this dataset's datasets, `blockLength` at a time from `cycleLength` open
    /// ones in turn (see ``Interleaved`` for the exact order): tf.data's `interleave`.
    ///
    /// ```swift
    /// let paths = ["/data/part-0.h5", "/data/part-1.h5", "/data/part-2.h5"]
    /// let rows = Slices(paths)
    ///     .map { try HDF5Rows(file: URL(fileURLWithPath: $0), path: "/x", as: Float.self) }
    ///     .interleave(cycleLength: 2, blockLength: 16)
    /// ```
    public func interleave(cycleLength: Int, blockLength: Int = 1) -> Interleaved<Self> {
        Interleaved(inputs: self, cycleLength: cycleLength, blockLength: blockLength)
    }
}

/// The elements of `datasets`, `blockLength` at a time from `cycleLength` open ones in turn
/// (see ``Interleaved`` for the exact order): tf.data's `interleave` over a list, such as one
/// `HDF5Rows` per file. An empty list gives an empty dataset; the cardinality is the sum of the
/// datasets' when all are finite.
///
/// ```swift
/// let parts = [RangeDataset(0..<3), RangeDataset(10..<13)]
/// try interleave(parts, cycleLength: 2).collect()       // [0, 10, 1, 11, 2, 12]
/// ```
public func interleave<Source: Dataset>(_ datasets: [Source], cycleLength: Int,
                                        blockLength: Int = 1) -> Interleaved<Slices<Source>> {
    let counts = datasets.map(\.cardinality)
    let known: Cardinality
    if counts.contains(.infinite) {
        known = .infinite
    } else if counts.allSatisfy({ $0.count != nil }) {
        known = .finite(counts.compactMap(\.count).reduce(0, +))
    } else {
        known = .unknown
    }
    return Interleaved(inputs: Slices(datasets), cycleLength: cycleLength, blockLength: blockLength,
                       knownCardinality: known)
}
