import Foundation

/// Where a dataset iterator stands, as a small tree of values that mirrors the pipeline.
///
/// Each stage stores its own counters (positions, epoch numbers), generator states, source
/// ordinals (a shuffle buffer is saved as the positions of its elements in its input, never as
/// element copies) and the states of the stages below it. The value is `Codable`, so it can go
/// into a checkpoint as JSON bytes and be restored in another process.
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

    /// A state node; adaptors build these in their `state`, and custom datasets can too (check them back with `kind` before resuming).
    public init(kind: String, counters: [Int] = [], seeds: [UInt64] = [], indices: [Int] = [],
                children: [IteratorState] = []) {
        self.kind = kind
        self.counters = counters
        self.seeds = seeds
        self.indices = indices
        self.children = children
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

    /// Checks the stage name and the number of fields before a stage restores from this state.
    func expect(_ kind: String, counters: Int = 0, seeds: Int = 0, children: Int = 0) throws {
        guard self.kind == kind, self.counters.count == counters, self.seeds.count == seeds,
              self.children.count == children
        else {
            throw DatasetError.incompatibleState(
                expected: kind,
                found: "\(self.kind) (\(self.counters.count) counters, \(self.seeds.count) seeds, "
                    + "\(self.children.count) children)")
        }
    }
}
