import Foundation

/// Where a dataset iterator stands, as a small tree of values that mirrors the pipeline.
///
/// Each stage stores its own counters (positions, epoch numbers), generator states, source
/// ordinals (a shuffle buffer is saved as the positions of its elements in its input, never as
/// element copies) and the states of the stages below it. The value is `Codable`, so it can go
/// into a checkpoint as JSON bytes and be restored in another process.
///
/// Each stage also records the settings that decide its element sequence (``parameters``: a
/// shuffle's seed, buffer size and reshuffle flag, a batch size, a take count, a source's
/// length, ...). Restoring into a stage whose settings differ throws
/// ``DatasetError/mismatchedState(stage:parameter:saved:current:)`` naming both values, instead
/// of continuing a different order. States written before these fields existed have no
/// `parameters`; they still restore, with the settings unchecked.
///
/// ```swift
/// var it = pipeline.makeIterator()
/// _ = try it.next()
/// let bytes = try it.state.encoded()                            // Data (JSON)
/// var again = try pipeline.makeIterator(resumingFrom: IteratorState(encoded: bytes))
/// ```
public struct IteratorState: Codable, Sendable, Hashable {
    /// The stage that wrote this state (`"slices"`, `"shuffle"`, ...); checked on restore.
    public var kind: String
    /// Positions, counts and epoch numbers, in an order each stage documents in its source.
    public var counters: [Int]
    /// Generator states and seeds.
    public var seeds: [UInt64]
    /// Source ordinals (for a shuffle buffer: the input positions of the buffered elements).
    public var indices: [Int]
    /// The states of the stages below.
    public var children: [IteratorState]
    /// The stage's settings that decide the element sequence, by name (`"seed"`, `"size"`,
    /// `"count"`, ...), as text; checked on restore. `nil` (and absent from the JSON) when the
    /// stage has none, and in states written before settings were recorded: those restore
    /// unchecked.
    public var parameters: [String: String]?

    /// A state node; adaptors build these in their `state`, and custom datasets can too (check
    /// them back with `kind` and ``checkParameters(_:stage:)`` before resuming).
    public init(kind: String, counters: [Int] = [], seeds: [UInt64] = [], indices: [Int] = [],
                children: [IteratorState] = [], parameters: [String: String]? = nil) {
        self.kind = kind
        self.counters = counters
        self.seeds = seeds
        self.indices = indices
        self.children = children
        self.parameters = parameters
    }

    private enum CodingKeys: String, CodingKey { case kind, counters, seeds, indices, children, parameters }

    /// Decodes a state; `indices` and `children` may be absent (random-access states omit them
    /// when empty).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(String.self, forKey: .kind)
        counters = try container.decode([Int].self, forKey: .counters)
        seeds = try container.decode([UInt64].self, forKey: .seeds)
        indices = try container.decodeIfPresent([Int].self, forKey: .indices) ?? []
        children = try container.decodeIfPresent([IteratorState].self, forKey: .children) ?? []
        parameters = try container.decodeIfPresent([String: String].self, forKey: .parameters)
    }

    /// Encodes every field, as states always have, except that a random-access state (kind
    /// `"randomAccess"`, new with it) leaves out its empty `indices` and `children`, keeping it
    /// within 256 bytes.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(counters, forKey: .counters)
        try container.encode(seeds, forKey: .seeds)
        let compact = kind == "randomAccess"
        if !(compact && indices.isEmpty) { try container.encode(indices, forKey: .indices) }
        if !(compact && children.isEmpty) { try container.encode(children, forKey: .children) }
        try container.encodeIfPresent(parameters, forKey: .parameters)
    }

    /// The state as compact JSON bytes.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    /// A state decoded from ``encoded()`` bytes.
    public init(encoded data: Data) throws {
        do {
            self = try JSONDecoder().decode(IteratorState.self, from: data)
        } catch {
            throw DatasetError.undecodableState(reason: String(describing: error))
        }
    }

    /// Checks that every setting this state recorded equals the current one in `current`
    /// (settings the state did not record, as in states from older versions, are not checked).
    /// - Throws: ``DatasetError/mismatchedState(stage:parameter:saved:current:)`` for the first
    ///   setting, in name order, whose saved value differs.
    public func checkParameters(_ current: [String: String]?, stage: String) throws {
        guard let saved = parameters, let current else { return }
        for name in current.keys.sorted() {
            if let savedValue = saved[name], let currentValue = current[name], savedValue != currentValue {
                throw DatasetError.mismatchedState(stage: stage, parameter: name, saved: savedValue, current: currentValue)
            }
        }
    }

    /// Checks the stage name, the number of fields and the recorded settings (see
    /// ``checkParameters(_:stage:)``) before a stage restores from this state.
    func expect(_ kind: String, counters: Int = 0, seeds: Int = 0, children: Int = 0,
                parameters current: [String: String]? = nil) throws {
        guard self.kind == kind, self.counters.count == counters, self.seeds.count == seeds,
              self.children.count == children
        else {
            throw DatasetError.incompatibleState(
                expected: kind,
                found: "\(self.kind) (\(self.counters.count) counters, \(self.seeds.count) seeds, "
                    + "\(self.children.count) children)")
        }
        try checkParameters(current, stage: kind)
    }
}
