import Foundation
import Testing
@testable import Datasets
import Tensors

/// Pulls `count` elements (fewer if the pass ends).
func pull<I: DatasetIterator>(_ iterator: inout I, _ count: Int) throws -> [I.Element] {
    var out: [I.Element] = []
    while out.count < count, let element = try iterator.next() { out.append(element) }
    return out
}

/// Checks that for every cut point, saving the state (through JSON bytes), restoring it in a
/// fresh iterator and continuing gives exactly the elements of the uninterrupted run.
func expectResumesExactly<D: Dataset, Key: Equatable>(
    _ dataset: D, total: Int, cuts: [Int], epoch: UInt64 = 0,
    key: (D.Element) -> Key, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    var reference = dataset.makeIterator(epoch: epoch)
    let expected = try pull(&reference, total).map(key)
    for cut in cuts {
        var first = dataset.makeIterator(epoch: epoch)
        let head = try pull(&first, cut).map(key)
        let bytes = try first.state.encoded()
        var resumed = try dataset.makeIterator(resumingFrom: IteratorState(encoded: bytes))
        let tail = try pull(&resumed, total - cut).map(key)
        #expect(head + tail == expected, "resumed after \(cut) elements", sourceLocation: sourceLocation)
        // The original iterator is unaffected by having its state read.
        let rest = try pull(&first, total - cut).map(key)
        #expect(head + rest == expected, "continued after reading the state at \(cut)",
                sourceLocation: sourceLocation)
    }
}

func expectResumesExactly<D: Dataset>(
    _ dataset: D, total: Int, cuts: [Int], epoch: UInt64 = 0,
    sourceLocation: SourceLocation = #_sourceLocation
) throws where D.Element: Equatable {
    try expectResumesExactly(dataset, total: total, cuts: cuts, epoch: epoch, key: { $0 },
                             sourceLocation: sourceLocation)
}

/// A `(features, label)` element or batch as plain arrays, for comparisons.
func pairKey<A, B>(_ pair: (Tensor<A>, Tensor<B>)) -> [String] {
    ["\(pair.0.shape)", "\(pair.0.scalars)", "\(pair.1.shape)", "\(pair.1.scalars)"]
}

/// A source that records how far it has been pulled (thread-safe).
final class PullCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    var count: Int { lock.lock(); defer { lock.unlock() }; return value }
    func increment() { lock.lock(); value += 1; lock.unlock() }
}

struct Boom: Error, Equatable { let at: Int }

/// Waits (up to `seconds`) for `condition` to hold.
func eventually(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}

/// A gate a test opens: `wait()` blocks until `open()` has been called, so a test decides
/// exactly when a transform or producer may go on (explicit synchronisation, not a sleep).
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = false   // guarded by `condition`

    func open() {
        condition.withLock {
            isOpen = true
            condition.broadcast()
        }
    }

    func wait() {
        condition.withLock {
            while !isOpen { condition.wait() }
        }
    }
}
