import Dispatch
import Tensors

/// Splits a pass over independent rows (images, pixels, scalars) into a few contiguous runs
/// that run side by side on `DispatchQueue.concurrentPerform`; the calling thread takes runs
/// too, so a machine whose cores are taken degrades to the serial loop. Each row is computed
/// by the same code whichever run holds it, so a split pass gives the serial pass's bits.
/// Reductions across rows (column sums, moments) are never split: their order fixes the bits.
enum ParallelParts {
    /// Passes over fewer scalars than this (2¹⁸, 1 MiB of Float) stay on the calling thread:
    /// the hand-off costs more than a second core saves (an 8x8 image CNN's layers stay serial).
    static let minimumScalars = 1 << 18

    /// Runs per split pass: a few per core, so a core taken away by another process for a
    /// while delays one run rather than half the pass.
    static let count = 4

    /// Runs for a pass of `rows` rows of `width` scalars each: ``count`` when the pass holds
    /// at least ``minimumScalars``, else 1.
    static func automatic(rows: Int, width: Int) -> Int {
        rows * width >= minimumScalars ? max(1, min(rows, count)) : 1
    }

    /// Calls `body` with `0..<rows` split into `parts` contiguous runs side by side, or once
    /// with the whole range when `parts` is 1. With `oneBLASThread` every product the runs
    /// make stays on its run's thread (``/Tensors/BLASThreads/onOneThread(_:)``). Runs must
    /// write disjoint memory. Cuts fall on multiples of `alignment` rows (the nearest to an even
    /// split; a run left empty is skipped).
    static func forEach(rows: Int, parts: Int, alignment: Int = 1, oneBLASThread: Bool = false, _ body: (Range<Int>) -> Void) {
        let parts = min(parts, rows)
        guard parts > 1 else {
            body(0..<rows)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let task = PartTask(run: escapable)
            let run = {
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    func cut(_ part: Int) -> Int { min(rows, (rows * part / parts + alignment / 2) / alignment * alignment) }
                    let run = part == parts - 1 ? cut(part)..<rows : cut(part)..<cut(part + 1)
                    if !run.isEmpty { task.run(run) }
                }
            }
            if oneBLASThread { BLASThreads.onOneThread(run) } else { run() }
        }
    }
}

/// One run's work, handed to the concurrent threads (each run writes its own rows only).
private struct PartTask: @unchecked Sendable {
    let run: (Range<Int>) -> Void
}

/// A buffer address handed to the runs of a split pass (each run writes its own rows only).
struct SharedAddress<S>: @unchecked Sendable {
    let base: UnsafeMutablePointer<S>
}
