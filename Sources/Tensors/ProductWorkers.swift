import CVectorKernels
import Foundation
import Synchronization

/// Runs the parts of one piece of work (the parts of a split product, the chunks of an
/// optimizer update, the two products of a layer's backward pass) side by side on the calling
/// thread and on a few persistent threads of Batchwise's own, one per extra core (issue 19).
///
/// Why not `DispatchQueue.concurrentPerform`: a training step of the BN MLP hands work to the
/// second core ten or more times per millisecond, and GCD's worker sleeps between hand-offs, so
/// every one paid a wake-up (tens of µs) before the second core started; on a quiet machine
/// the split step ran at 88–96k samples/s where OpenBLAS's own spinning threads reached
/// 108–110k. These workers spin for a short while (``spinNanoseconds``, tens of µs) after
/// finishing a part, so the next hand-off of the same step finds them awake, and then park on
/// a condition variable, so that an idle worker never holds a core that data-parallel ranks,
/// pipeline workers or other processes need (``parks`` counts the times they parked; tests
/// check it). The caller always takes parts too, claiming them one by one from the same
/// counter as the workers: when the workers are asleep or slow to start, the caller does the
/// parts they did not claim. (A worker that claimed a part and then lost its core still holds
/// the caller up; on a saturated machine the two-thread step measured slower than one thread,
/// docs/perf/layers.md, "Stop 17".)
///
/// Only one piece of work runs on the workers at a time: a caller that finds them taken (a
/// second thread, or a part that itself asks for parts) runs its parts on its own thread, one
/// after the other. Which thread runs which part never changes a result as long as each part
/// writes its own outputs and computes them the same way whatever thread it runs on; that is
/// the caller's contract.
///
/// The workers are started on first use and never end; they are parked when idle, so they do
/// not hold the process at exit (`exit` ends every thread).
package enum ProductWorkers {
    /// Calls `body` once for every index in `0..<parts`, side by side on the calling thread and
    /// the workers (at most one worker per extra core), and returns when all calls have returned.
    /// Runs the parts in order on the calling thread when `parts` is 1, when there is one core,
    /// when ``BLASThreads/maximum`` is 1, or when the workers are taken.
    ///
    /// ``BLASThreads/maximum`` at 1 keeps every part on the caller, not only a product's: a
    /// data-parallel rank started with `OPENBLAS_NUM_THREADS=1` (as `batchwise train --ranks`
    /// and the tests start them) but not bound to a core (Open MPI binds none when it
    /// oversubscribes, 3 or 4 ranks on 2 cores) would otherwise still hand an optimizer's chunks
    /// to a worker of its own: twice as many busy threads as cores, each spinning after its part.
    package static func forEachPart(_ parts: Int, _ body: (Int) -> Void) {
        if parts > 1, BLASThreads.maximum > 1 {
            if usesDispatch {
                withoutActuallyEscaping(body) { escapable in
                    let job = PartJob(run: escapable)
                    DispatchQueue.concurrentPerform(iterations: parts) { job.run($0) }
                }
                return
            }
            if runOnWorkers(parts, body) { return }
        }
        for part in 0..<parts { body(part) }
    }

    /// Runs the parts as ``forEachPart(_:_:)`` does when the workers are free and there are
    /// any (more than one core, 2 to 65,535 parts); otherwise runs nothing and returns `false`.
    package static func runOnWorkers(_ parts: Int, _ body: (Int) -> Void) -> Bool {
        guard parts > 1, parts <= PartPool.maximumParts, let pool = PartPool.shared else { return false }
        return pool.run(parts: parts, body)
    }

    /// Runs the parts on `DispatchQueue.concurrentPerform` instead of the workers, as before
    /// issue 19's workers: for benchmarks that compare the two in one process.
    package static var usesDispatch: Bool {
        get { storedUsesDispatch.load(ordering: .relaxed) }
        set { storedUsesDispatch.store(newValue, ordering: .relaxed) }
    }

    private static let storedUsesDispatch = Atomic<Bool>(false)

    /// How long a worker that finished a part waits, spinning, for the next piece of work before
    /// it parks (nanoseconds; 0 parks at once). The default, 50 µs, covers the gaps between the
    /// hand-offs of one training step (a BatchNormalization or ReLU pass between two products)
    /// but not the time between steps of a data pipeline or a small model.
    package static var spinNanoseconds: Int {
        get { PartPool.spinNanoseconds.load(ordering: .relaxed) }
        set { PartPool.spinNanoseconds.store(Swift.max(0, newValue), ordering: .relaxed) }
    }

    /// How many times a worker has parked since the process started (tests: the workers must
    /// park, not spin, when there is no work).
    package static var parks: Int { PartPool.shared?.parks.load(ordering: .sequentiallyConsistent) ?? 0 }

    /// Workers ``forEachPart(_:_:)`` may use now: one per core beyond the caller's, none while
    /// ``BLASThreads/maximum`` is 1.
    package static var workerLimit: Int { BLASThreads.maximum <= 1 ? 0 : PartPool.shared?.capacity ?? 0 }

    /// Workers this process may start: one per core beyond the caller's.
    package static var workerCapacity: Int { PartPool.shared?.capacity ?? 0 }

    /// The cores the calling thread may run on (threads it starts inherit that): the machine's,
    /// or fewer when it is bound to some of them. `mpirun` binds each of up to two ranks to a
    /// core of its own; a worker there would share the rank's core with the caller and only
    /// take turns with it (spinning while the caller works), so a bound rank runs its parts itself.
    package static func usableCores() -> Int {
        let online = ProcessInfo.processInfo.activeProcessorCount
        let allowed = Int(bw_usable_core_count())
        if allowed > 0 { return Swift.min(online, allowed) }
        return online
    }

    /// Waits until ``parks`` has grown past `count` and every started worker is parked, or
    /// `timeout` seconds have passed; returns whether that happened (tests: a timeout here
    /// means a worker kept spinning).
    package static func waitUntilParked(after count: Int, timeout: Double) -> Bool {
        PartPool.shared?.waitUntilParked(after: count, timeout: timeout) ?? true
    }
}

/// The workers and the one piece of work they share. `state` holds the job's generation (upper
/// 32 bits), its number of parts (16 bits) and the next unclaimed part (16 bits), so that a
/// claim is one compare-and-swap that also proves the job is still the current one.
private final class PartPool: @unchecked Sendable {
    static let maximumParts = 0xFFFF
    static let spinNanoseconds = Atomic<Int>(50_000)
    /// How long the caller spins for the workers' last parts before it sleeps.
    static let callerSpinNanoseconds: UInt64 = 20_000
    /// `nil` when the process may run on one core only: nothing to hand work to.
    static let shared: PartPool? = {
        let cores = ProductWorkers.usableCores()
        return cores > 1 ? PartPool(capacity: Swift.min(cores - 1, 63)) : nil
    }()

    let capacity: Int
    let parks = Atomic<Int>(0)

    private let state = Atomic<UInt64>(0)
    /// Parts of the current job whose calls have returned.
    private let finished = Atomic<Int>(0)
    /// Whether a caller is running a job on the workers.
    private let taken = Atomic<Bool>(false)
    /// Workers inside (or entering) ``park(after:)``.
    private let sleepers = Atomic<Int>(0)
    /// Guards ``started`` and ``parkWatchers``; workers park on it (an `NSCondition`, i.e. a
    /// pthread mutex and condition, which Thread Sanitizer sees).
    private let condition = NSCondition()
    /// Where the caller sleeps when the workers' parts outlast its spin (``waitForParts(_:)``).
    private let callerWake = NSCondition()
    private let callerSleeps = Atomic<Bool>(false)
    private var started = 0
    private var parkWatchers = 0
    /// The current job's body: written by the caller before it publishes the job in `state`,
    /// read by a worker only after a claim of that job succeeded, cleared by the caller after
    /// every part finished (the atomics order these accesses).
    private var job: PartJob?

    private init(capacity: Int) {
        self.capacity = capacity
    }

    /// Runs the job on the workers and the calling thread; `false` when another job holds the
    /// workers (the caller then runs the parts itself).
    func run(parts: Int, _ body: (Int) -> Void) -> Bool {
        guard taken.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { taken.store(false, ordering: .releasing) }
        startWorkers(Swift.min(parts - 1, capacity))
        withoutActuallyEscaping(body) { escapable in
            job = PartJob(run: escapable)
            finished.store(0, ordering: .relaxed)
            let generation = (state.load(ordering: .relaxed) >> 32) &+ 1
            state.store(generation << 32 | UInt64(parts) << 16, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                condition.lock()
                condition.broadcast()
                condition.unlock()
            }
            var mine = 0
            while let part = claim(generation: generation) {
                escapable(part)
                mine += 1
            }
            if mine > 0 { finished.add(mine, ordering: .releasing) }
            waitForParts(parts)
            job = nil
        }
        return true
    }

    /// The caller's claim of the next part of its job of `generation`.
    private func claim(generation: UInt64) -> Int? {
        var current = state.load(ordering: .acquiring)
        while current >> 32 == generation, current & 0xFFFF < (current >> 16) & 0xFFFF {
            let (exchanged, original) = state.compareExchange(
                expected: current, desired: current + 1, successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
            if exchanged { return Int(current & 0xFFFF) }
            current = original
        }
        return nil
    }

    /// The caller's wait for the parts the workers claimed. They are running and usually end
    /// within microseconds of the caller's own parts, so spin first; then sleep until the last
    /// one ends. On a busy machine a worker that claimed a part may have lost its core, possibly
    /// to this very thread: spinning on would keep it from finishing (with a caller that only
    /// spun and yielded, a loaded two-core machine ran the MLP step slower than one thread).
    private func waitForParts(_ parts: Int) {
        let start = DispatchTime.now().uptimeNanoseconds
        var rounds = 0
        while finished.load(ordering: .acquiring) < parts {
            rounds += 1
            cpuRelax()
            if rounds & 1023 == 0 {
                if DispatchTime.now().uptimeNanoseconds - start > PartPool.callerSpinNanoseconds { break }
                sched_yield()   // (see spin(after:))
            }
        }
        guard finished.load(ordering: .acquiring) < parts else { return }
        // The caller says it sleeps, then looks at the count; a worker counts its part, then
        // looks for a sleeping caller (all sequentially consistent), so one of them sees the other.
        callerWake.lock()
        defer { callerWake.unlock() }
        callerSleeps.store(true, ordering: .sequentiallyConsistent)
        while finished.load(ordering: .sequentiallyConsistent) < parts { callerWake.wait() }
        callerSleeps.store(false, ordering: .sequentiallyConsistent)
    }

    /// A worker's count of a finished part; the last one wakes a sleeping caller.
    private func finishPart() {
        let total = finished.add(1, ordering: .sequentiallyConsistent).newValue
        if total == Int((state.load(ordering: .relaxed) >> 16) & 0xFFFF), callerSleeps.load(ordering: .sequentiallyConsistent) {
            callerWake.lock()
            callerWake.broadcast()
            callerWake.unlock()
        }
    }

    private func startWorkers(_ wanted: Int) {
        guard wanted > 0 else { return }
        condition.lock()
        defer { condition.unlock() }
        while started < wanted {
            started += 1
            let thread = Thread { [self] in work() }
            thread.name = "batchwise.product-worker"
            thread.start()
        }
    }

    /// A worker's life: claim and run parts while there are any, then wait for the next job.
    /// It waits for a generation after the one it found nothing left in, so a job published
    /// between its last failed claim and its wait is not missed.
    private func work() {
        var current = state.load(ordering: .acquiring)
        while true {
            if current & 0xFFFF < (current >> 16) & 0xFFFF {
                let (exchanged, original) = state.compareExchange(
                    expected: current, desired: current + 1, successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
                if exchanged {
                    runClaimed(Int(current & 0xFFFF))
                    finishPart()
                    current = state.load(ordering: .acquiring)
                } else {
                    current = original
                }
                continue
            }
            let seen = current >> 32
            if !spin(after: seen) { park(after: seen) }
            current = state.load(ordering: .acquiring)
        }
    }

    /// Runs a claimed part. Kept out of line so that the worker's reference to the job's body
    /// is released before the part counts as finished (the caller then clears the job).
    @inline(never)
    private func runClaimed(_ part: Int) {
        job!.run(part)
    }

    /// Spins for up to ``spinNanoseconds`` while the job of generation `seen` is current;
    /// `true` when a new job was published meanwhile.
    private func spin(after seen: UInt64) -> Bool {
        let limit = UInt64(PartPool.spinNanoseconds.load(ordering: .relaxed))
        guard limit > 0 else { return false }
        let start = DispatchTime.now().uptimeNanoseconds
        var rounds = 0
        while state.load(ordering: .relaxed) >> 32 == seen {
            cpuRelax()
            rounds += 1
            // The clock costs about as much as a thousand loads of a cached line: look rarely.
            // Every microsecond or two, yield: when the scheduler put the caller on this core (the
            // other one busy with another process), the caller runs instead of waiting out the
            // spin; alone on its core the worker comes straight back.
            if rounds & 1023 == 0 {
                if DispatchTime.now().uptimeNanoseconds - start > limit { return false }
                sched_yield()
            }
        }
        return true
    }

    /// Sleeps until a job newer than `seen` is published. The caller publishes, then looks for
    /// sleepers; a worker counts itself a sleeper, then looks for a job (both sequentially
    /// consistent), so at least one of them sees the other and no wake-up is lost.
    private func park(after seen: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        sleepers.add(1, ordering: .sequentiallyConsistent)
        defer { sleepers.subtract(1, ordering: .sequentiallyConsistent) }
        guard state.load(ordering: .sequentiallyConsistent) >> 32 == seen else { return }
        parks.add(1, ordering: .sequentiallyConsistent)
        if parkWatchers > 0 { condition.broadcast() }
        repeat { condition.wait() } while state.load(ordering: .sequentiallyConsistent) >> 32 == seen
    }

    /// ``ProductWorkers/waitUntilParked(after:timeout:)``.
    func waitUntilParked(after count: Int, timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        parkWatchers += 1
        defer { parkWatchers -= 1 }
        func parked() -> Bool {
            parks.load(ordering: .sequentiallyConsistent) > count && sleepers.load(ordering: .sequentiallyConsistent) >= started
        }
        while !parked() {
            if !condition.wait(until: deadline) { return parked() }
        }
        return true
    }

    /// Where a spinning thread would issue x86 `pause`: Swift cannot reach the intrinsic from
    /// this module (`_mm_pause` is a header inline that does not link), and on this machine
    /// (no SMT) a plain load loop costs the sibling nothing; kept as the one place to add it.
    @inline(__always)
    private func cpuRelax() {}
}

/// The body of the current job, shared with the workers (each part writes its own outputs).
private struct PartJob: @unchecked Sendable {
    let run: (Int) -> Void
}
