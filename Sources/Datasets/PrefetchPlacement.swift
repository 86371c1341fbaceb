#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Where a prefetch iterator's input runs: on its producer thread, ahead of the consumer, or on
/// the consumer's own thread, one element per `next()`.
@usableFromInline
enum PrefetchPlacement: Sendable, Equatable {
    case producerThread
    case consumerThread
}

/// How a prefetch iterator chooses its ``PrefetchPlacement`` (tests fix the choice).
enum PrefetchPlacementRule: Sendable, Equatable {
    /// Measures both placements now and then and keeps the one that delivers faster.
    case adaptive
    /// Always the producer thread.
    case producerThread
    /// Switches placement after every `period` delivered elements (tests: hand-overs at every
    /// position, with elements in flight).
    case alternating(period: Int)
}

/// What the iterators of one prefetch dataset value have learned about its placement, so that
/// the next iterator (the next epoch) starts with the placement that won and the exploitation
/// period reached, instead of timing both from scratch. A hint only: elements never depend on it.
final class PrefetchPlacementMemory: Sendable {
    struct Lesson {
        var placement: PrefetchPlacement
        var nanosPerElement: Double
        var exploitNanos: Double
        /// When (``monotonicNanoseconds()``) the placement is due to be timed again, whichever
        /// iterator is running then (an epoch is often shorter than an exploitation period).
        var probeDue: UInt64
    }
    private let lesson = LockedValue<Lesson?>(nil)

    init() {}

    var last: Lesson? { lesson.withLock { $0 } }

    func learn(_ new: Lesson) { lesson.withLock { $0 = new } }
}

/// Decides, element by element, where a prefetch's input runs, by timing the consumer's rate of
/// delivered elements under each placement.
///
/// Handing elements between threads costs the producer and the consumer a few hundred
/// nanoseconds each (cache lines moving between cores, and memory the producer allocates being
/// freed on the other thread), and on a loaded machine the two threads also compete for the
/// same cores. When the input makes an element in about a microsecond and the consumer does
/// little with it, that cost is the whole difference, and pulling the input inline is faster;
/// when either side's work is large, the producer thread overlaps them. Which case holds depends
/// on the pipeline, the consumer and the load, so both are timed: a window of the current
/// placement, a window of the other, and the faster one (the producer thread only if it is 3%
/// faster: a tie is better served by one thread) is kept for an exploitation period that
/// doubles each time the same placement wins again (16 ms up to about 1 s), and that lasts at
/// least 50 times as long as the last probe took, the way back included (on a loaded machine,
/// waking the producer thread and taking the input back can take milliseconds), so that probing
/// costs about 2% at most. Elements, order and iterator states do not depend on the placement.
@usableFromInline
struct PrefetchPlacementPolicy {
    @usableFromInline private(set) var placement: PrefetchPlacement = .producerThread
    private let rule: PrefetchPlacementRule
    /// Elements after a switch that do not count towards a window (the ring draining or filling).
    private let settleElements: Int
    private let now: () -> UInt64
    private let memory: PrefetchPlacementMemory?

    private enum Phase {
        case settling(remaining: Int)
        case measuring(start: UInt64, count: Int)
        case exploiting(remaining: Int)
    }
    private var phase: Phase
    /// The placement that won the last comparison, and its time per element.
    private var incumbent: PrefetchPlacement = .producerThread
    private var incumbentNanos = 0.0
    /// When the current probe of the other placement began (`nil`: not probing).
    private var probeStart: UInt64?
    /// When a probe that lost began, until the first element after the hand-back: the way back
    /// (the producer thread must run to see the pause request) is part of its cost.
    private var lostProbeStart: UInt64?
    private var exploitNanos = Self.firstExploitNanos
    private var sinceSwitch = 0

    static let windowNanos: UInt64 = 2_000_000
    static let windowElements = 8
    static let firstExploitNanos = 16e6
    static let longestExploitNanos = 1.024e9
    /// Exploitation lasts at least this many times the wall time of the probe before it,
    /// including the way back to the incumbent, up to `longestSpacingNanos`.
    static let probeCostFactor = 50.0
    static let longestSpacingNanos = 30e9
    /// The producer thread is kept only when it is at least this much faster (noise between
    /// windows, and a tie is better served by one thread).
    static let margin = 0.97

    init(rule: PrefetchPlacementRule, bufferSize: Int, memory: PrefetchPlacementMemory? = nil,
         now: @escaping () -> UInt64 = monotonicNanoseconds) {
        self.rule = rule
        self.now = now
        self.memory = memory
        settleElements = bufferSize + 2
        phase = .settling(remaining: settleElements)
        if rule == .adaptive, let lesson = memory?.last {
            placement = lesson.placement
            incumbent = lesson.placement
            incumbentNanos = lesson.nanosPerElement
            exploitNanos = lesson.exploitNanos
            let start = now()
            if start < lesson.probeDue {
                let elements = Double(lesson.probeDue - start) / Swift.max(incumbentNanos, 1)
                phase = .exploiting(remaining: Swift.max(1, Int(Swift.min(elements, 1e12))))
            } else {
                phase = .measuring(start: start, count: 0)
            }
        }
    }

    /// Records one delivered element; the placement afterwards may differ.
    @usableFromInline
    mutating func delivered() {
        switch rule {
        case .producerThread:
            return
        case let .alternating(period):
            sinceSwitch += 1
            if sinceSwitch >= period {
                sinceSwitch = 0
                placement = placement == .producerThread ? .consumerThread : .producerThread
            }
        case .adaptive:
            adapt()
        }
    }

    private mutating func adapt() {
        switch phase {
        case let .settling(remaining):
            phase = remaining > 1 ? .settling(remaining: remaining - 1) : .measuring(start: now(), count: 0)
        case let .exploiting(remaining):
            if let start = lostProbeStart {
                lostProbeStart = nil
                spaceOut(probeCost: now() &- start)
            }
            phase = remaining > 1 ? .exploiting(remaining: remaining - 1) : .measuring(start: now(), count: 0)
        case let .measuring(start, count):
            let counted = count + 1
            guard counted % Self.windowElements == 0 else {
                phase = .measuring(start: start, count: counted)
                return
            }
            let end = now()
            guard end &- start >= Self.windowNanos else {
                phase = .measuring(start: start, count: counted)
                return
            }
            windowEnded(nanosPerElement: Double(end &- start) / Double(counted), at: end)
        }
    }

    private mutating func windowEnded(nanosPerElement: Double, at end: UInt64) {
        guard let probeStart else {
            // The incumbent's fresh rate; now time the other placement.
            incumbentNanos = nanosPerElement
            self.probeStart = end
            placement = other(incumbent)
            phase = .settling(remaining: settleElements)
            return
        }
        self.probeStart = nil
        // The producer thread must be faster by the margin, whichever placement is incumbent:
        // on a tie the consumer's thread does the same work with one core instead of two.
        let (threadNanos, inlineNanos) = placement == .producerThread
            ? (nanosPerElement, incumbentNanos) : (incumbentNanos, nanosPerElement)
        let winner: PrefetchPlacement = threadNanos < inlineNanos * Self.margin ? .producerThread : .consumerThread
        if winner == placement {
            incumbent = placement
            incumbentNanos = nanosPerElement
            exploitNanos = Self.firstExploitNanos
        } else {
            placement = incumbent
            exploitNanos = Swift.min(2 * exploitNanos, Self.longestExploitNanos)
            lostProbeStart = probeStart
        }
        exploitNanos = Swift.max(exploitNanos, Swift.min(Self.probeCostFactor * Double(end &- probeStart),
                                                         Self.longestSpacingNanos))
        exploit(from: end)
    }

    /// Stays with the incumbent for `exploitNanos` from `start`, and tells later iterators so.
    private mutating func exploit(from start: UInt64) {
        let elements = exploitNanos / Swift.max(incumbentNanos, 1)
        phase = .exploiting(remaining: Swift.max(Self.windowElements, Int(Swift.min(elements, 1e12))))
        memory?.learn(.init(placement: incumbent, nanosPerElement: incumbentNanos, exploitNanos: exploitNanos,
                            probeDue: start &+ UInt64(exploitNanos)))
    }

    /// Lengthens the exploitation under way to `probeCostFactor` times a probe's full cost.
    private mutating func spaceOut(probeCost: UInt64) {
        let wanted = Swift.min(Self.probeCostFactor * Double(probeCost), Self.longestSpacingNanos)
        guard wanted > exploitNanos else { return }
        exploitNanos = wanted
        exploit(from: now())
    }

    private func other(_ placement: PrefetchPlacement) -> PrefetchPlacement {
        placement == .producerThread ? .consumerThread : .producerThread
    }
}

/// CLOCK_MONOTONIC in nanoseconds (a vDSO call, about 20 ns).
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}
