/// Saved states of an input iterator at a few past positions, so that a stage which reads ahead
/// of its consumer (shuffle, prefetch, parallel map, unbatch) can describe the consumer's
/// position: "resume the input from snapshot `s`, then skip `k` elements".
///
/// A snapshot is taken every `interval` pulls (capturing a state costs a little, so not on
/// every element), and snapshots the consumer has moved past are dropped, so the log stays a
/// handful of entries and a restore replays at most about `interval` elements plus the lookahead.
struct ReplayLog: Sendable {
    private(set) var snapshots: [(ordinal: Int, state: IteratorState)]
    let interval: Int

    init(initial state: IteratorState, at ordinal: Int = 0, interval: Int) {
        self.snapshots = [(ordinal, state)]
        self.interval = Swift.max(1, interval)
    }

    /// Whether a snapshot is due after `pulled` input elements.
    @inline(__always)
    func isDue(_ pulled: Int) -> Bool { pulled % interval == 0 }

    mutating func record(_ pulled: Int, _ state: IteratorState) {
        if let last = snapshots.last, last.ordinal == pulled { return }
        snapshots.append((pulled, state))
    }

    /// Drops snapshots that a consumer standing at `ordinal` no longer needs (all but the
    /// latest one at or before it).
    mutating func prune(before ordinal: Int) {
        var drop = 0
        while drop + 1 < snapshots.count && snapshots[drop + 1].ordinal <= ordinal { drop += 1 }
        if drop > 0 { snapshots.removeFirst(drop) }
    }

    /// The snapshot to resume from for a consumer at `ordinal`, and how many elements to skip.
    func resumePoint(for ordinal: Int) -> (state: IteratorState, ordinal: Int) {
        var best = snapshots[0]
        for snapshot in snapshots where snapshot.ordinal <= ordinal { best = snapshot }
        return (best.state, best.ordinal)
    }
}

extension DatasetIterator {
    /// Pulls and discards `count` elements (used when replaying to a restored position).
    mutating func skip(_ count: Int, stage: String) throws {
        for skipped in 0..<Swift.max(0, count) {
            if try next() == nil {
                throw DatasetError.incompatibleState(
                    expected: "\(stage) input with at least \(count) more elements",
                    found: "an input that ended after \(skipped)")
            }
        }
    }
}
