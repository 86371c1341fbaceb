/// The iterator states of many sources in little space, for `sample(from:...)` and `interleave`.
///
/// A stage's state is a tree of small nodes whose JSON spells every key, kind and setting: about
/// 90 bytes for a source that is only a position, so 100 full child states would be 9 KB. But
/// everything in a state except its numbers (its *skeleton*: kinds, settings, array lengths) is
/// what a fresh iterator of the same source in the same epoch has too. So a packed state keeps
/// only each source's numbers (counters, indices and seeds, node by node in tree order), and a
/// restore lays them back onto the skeleton of a fresh iterator: a `RangeDataset` or `HDF5Rows`
/// source costs one integer, and all the integers are written once, bit-packed
/// (``PackedIntegers``): under 3 characters for a position below 131,072.
///
/// A source whose state has grown a different shape from its fresh one (a shuffle whose buffer
/// filled, say) is kept whole. The skeletons' settings are not stored, so that a changed source
/// is still refused, the packed node records a digest of all skeletons (`settings`): a restore
/// into sources built differently throws ``DatasetError/mismatchedState(stage:parameter:saved:current:)``
/// for `sourceSettings`.
///
/// The packed node: `kind` "sources"; `counters`: the positions (in the list packed) of the
/// states kept whole; `seeds`: the `UInt64` numbers of the others, concatenated; `children`:
/// the states kept whole; `parameters`: `sourceSettings` and `numbers`, the integer numbers of
/// the others, concatenated and packed by ``PackedIntegers`` (states written before packing
/// hold them in `indices`, and still restore).
enum PackedSourceStates {
    static let kind = "sources"

    /// Packs `states`, each the state of an iterator whose fresh state was `skeletons[i]`.
    static func pack(_ states: [IteratorState], skeletons: [IteratorState]) -> IteratorState {
        var whole: [Int] = [], wholeStates: [IteratorState] = []
        var integers: [Int] = [], words: [UInt64] = []
        for (position, (state, skeleton)) in zip(states, skeletons).enumerated() {
            if hasSameShape(state, skeleton) {
                appendNumbers(of: state, integers: &integers, words: &words)
            } else {
                whole.append(position)
                wholeStates.append(state)
            }
        }
        return IteratorState(kind: kind, counters: whole, seeds: words, children: wholeStates,
                             parameters: ["sourceSettings": digest(skeletons), "numbers": PackedIntegers.encode(integers)])
    }

    /// The states packed by ``pack(_:skeletons:)``, rebuilt on `skeletons` (the fresh states of
    /// the sources now), for the stage named `stage`.
    /// - Throws: ``DatasetError/mismatchedState(stage:parameter:saved:current:)`` when the sources
    ///   were built differently, ``DatasetError/incompatibleState(expected:found:)`` when the
    ///   packed numbers do not fit.
    static func unpack(_ packed: IteratorState, skeletons: [IteratorState], stage: String) throws -> [IteratorState] {
        guard packed.kind == kind else {
            throw DatasetError.incompatibleState(expected: "\(stage) sources", found: packed.kind)
        }
        try packed.checkParameters(["sourceSettings": digest(skeletons)], stage: stage)
        let whole = packed.counters
        guard whole.count == packed.children.count, whole.allSatisfy({ skeletons.indices.contains($0) }),
              whole == whole.sorted(), Set(whole).count == whole.count
        else {
            throw DatasetError.incompatibleState(expected: "\(stage) states of \(skeletons.count) sources",
                                                 found: "whole states for sources \(whole)")
        }
        let numbers = try PackedIntegers.decode(packed.parameters?["numbers"], or: packed.indices, stage: stage,
                                                what: "source numbers")
        var integers = numbers[...], words = packed.seeds[...]
        var states: [IteratorState] = []
        var nextWhole = 0
        for (position, skeleton) in skeletons.enumerated() {
            if nextWhole < whole.count, whole[nextWhole] == position {
                states.append(packed.children[nextWhole])
                nextWhole += 1
            } else {
                guard let state = rebuild(skeleton, integers: &integers, words: &words) else {
                    throw DatasetError.incompatibleState(
                        expected: "\(stage) numbers for \(skeletons.count) sources",
                        found: "\(numbers.count) integers and \(packed.seeds.count) seeds")
                }
                states.append(state)
            }
        }
        guard integers.isEmpty, words.isEmpty else {
            throw DatasetError.incompatibleState(
                expected: "\(stage) numbers for \(skeletons.count) sources",
                found: "\(integers.count) integers and \(words.count) seeds left over")
        }
        return states
    }

    /// Whether two states differ in their numbers only.
    static func hasSameShape(_ a: IteratorState, _ b: IteratorState) -> Bool {
        a.kind == b.kind && a.parameters == b.parameters && a.counters.count == b.counters.count
            && a.indices.count == b.indices.count && a.seeds.count == b.seeds.count
            && a.children.count == b.children.count
            && zip(a.children, b.children).allSatisfy { hasSameShape($0, $1) }
    }

    private static func appendNumbers(of state: IteratorState, integers: inout [Int], words: inout [UInt64]) {
        integers += state.counters
        integers += state.indices
        words += state.seeds
        for child in state.children { appendNumbers(of: child, integers: &integers, words: &words) }
    }

    private static func rebuild(_ skeleton: IteratorState, integers: inout ArraySlice<Int>,
                                words: inout ArraySlice<UInt64>) -> IteratorState? {
        var state = skeleton
        let integerCount = skeleton.counters.count + skeleton.indices.count
        guard integers.count >= integerCount, words.count >= skeleton.seeds.count else { return nil }
        state.counters = Array(integers.prefix(skeleton.counters.count))
        state.indices = Array(integers.dropFirst(skeleton.counters.count).prefix(skeleton.indices.count))
        state.seeds = Array(words.prefix(skeleton.seeds.count))
        integers = integers.dropFirst(integerCount)
        words = words.dropFirst(skeleton.seeds.count)
        for index in state.children.indices {
            guard let child = rebuild(skeleton.children[index], integers: &integers, words: &words) else { return nil }
            state.children[index] = child
        }
        return state
    }

    /// A digest of the skeletons' kinds, settings and array lengths, the same on every machine
    /// (FNV-1a, not Swift's per-process seeded `Hasher`).
    static func digest(_ skeletons: [IteratorState]) -> String {
        var hash = StableDigest()
        func add(_ state: IteratorState) {
            hash.add("(\(state.kind)")
            for (name, value) in (state.parameters ?? [:]).sorted(by: { $0.key < $1.key }) {
                hash.add("\(name)=\(value);")
            }
            hash.add("\(state.counters.count),\(state.indices.count),\(state.seeds.count)")
            state.children.forEach(add)
            hash.add(")")
        }
        skeletons.forEach(add)
        return hash.hex
    }
}

/// 64-bit FNV-1a over UTF-8 text: a digest of settings that is the same in every process.
struct StableDigest {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01B3
        }
    }

    /// The digest as 16 hexadecimal digits.
    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
