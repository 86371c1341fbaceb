import CVectorKernels
import Foundation
import Synchronization
import Testing
@testable import Tensors

/// The persistent workers that run split products, optimizer chunks and Dense's side-by-side
/// backward products (`ProductWorkers`): every part runs once, callers that find the workers
/// taken (other threads, nested calls) still run all their parts, and an idle worker parks
/// instead of spinning (counted, not timed).
@Suite struct ProductWorkersTests {
    /// Calls of each part of one job.
    /// (Each part counts into its own entry; a part run twice at once would also be a race
    /// that Thread Sanitizer reports.)
    static func counts(parts: Int) -> [Int] {
        var calls = [Int](repeating: 0, count: parts)
        calls.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress.map(OutputAddress.init) else { return }
            ProductWorkers.forEachPart(parts) { base.base[$0] += 1 }
        }
        return calls
    }

    /// Runs a job on the workers once they are free: other suites running at the same time may
    /// hold them, for seconds at a time under a sanitizer. Tries until `timeout` seconds have
    /// passed (a count of tries ran out in under a second while an address-sanitized suite held
    /// them); `false` when the workers were never free.
    static func runOnWorkersWhenFree(_ parts: Int, timeout: Double = 120, _ body: (Int) -> Void) -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        repeat {
            if ProductWorkers.runOnWorkers(parts, body) { return true }
            usleep(200)
        } while DispatchTime.now().uptimeNanoseconds < deadline
        return false
    }

    /// A thread bound to one core (as `mpirun` binds a rank) counts one usable core, so a bound
    /// rank starts no worker to share its core with; unbound, every online core counts.
    @Test func aThreadBoundToOneCoreCountsOneCore() throws {
        #if os(Linux)
        let online = ProcessInfo.processInfo.activeProcessorCount
        try #require(online > 1, "needs a machine with two cores or more")
        let seen = LockedCount()
        let thread = Thread {
            if bw_bind_calling_thread_to_core(0) == 0 { seen.set(ProductWorkers.usableCores()) }
            seen.finish()
        }
        thread.start()
        seen.waitUntilFinished()
        #expect(seen.value == 1)
        #expect(ProductWorkers.usableCores() == online)
        #endif
    }

    @Test func everyPartRunsOnce() {
        for parts in [0, 1, 2, 3, 7, 8, 17, 64] {
            for _ in 0..<50 {
                #expect(Self.counts(parts: parts) == [Int](repeating: 1, count: parts), "\(parts) parts")
            }
        }
    }

    /// Each part writes its own outputs; they are all there when `forEachPart` returns, also
    /// when parts ask for parts of their own (the inner jobs run on the part's thread).
    @Test func partsWriteTheirOutputsAndMayNest() {
        let parts = 6, inner = 5
        var out = [Int](repeating: 0, count: parts * inner)
        out.withUnsafeMutableBufferPointer { buffer in
            let base = OutputAddress(base: buffer.baseAddress!)
            ProductWorkers.forEachPart(parts) { part in
                ProductWorkers.forEachPart(inner) { j in base.base[part * inner + j] = part * 100 + j }
            }
        }
        #expect(out == (0..<parts).flatMap { part in (0..<inner).map { part * 100 + $0 } })
    }

    /// Several threads at once: one holds the workers, the others run their parts themselves.
    @Test func concurrentCallersAllFinish() {
        let callers = 4, rounds = 200
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            for round in 0..<rounds {
                let parts = 2 + (caller + round) % 7
                if Self.counts(parts: parts) != [Int](repeating: 1, count: parts) { failures.add(1, ordering: .relaxed) }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }

    /// A job on the workers runs on two threads at once: each of two parts waits for the other
    /// to start, so the caller cannot run both (a worker must take one), and each runs once.
    /// (The 30-second bound on the wait only keeps a failure from hanging the suite.)
    @Test func aWorkerTakesPartsBesideTheCaller() {
        guard ProductWorkers.workerCapacity > 0 else { return }   // one core: no workers
        let arrived = Atomic<Int>(0), timedOut = Atomic<Bool>(false)
        var threads = [UInt](repeating: 0, count: 2), calls = [Int](repeating: 0, count: 2)
        var ran = false
        threads.withUnsafeMutableBufferPointer { t in
            calls.withUnsafeMutableBufferPointer { c in
                let (threadOut, callsOut) = (OutputAddress(base: t.baseAddress!), OutputAddress(base: c.baseAddress!))
                // Other suites may hold the workers (for seconds under a sanitizer): try until
                // this job gets them, bounded in time, not in tries.
                ran = Self.runOnWorkersWhenFree(2) { part in
                    callsOut.base[part] += 1
                    threadOut.base[part] = UInt(pthread_self())
                    arrived.add(1, ordering: .sequentiallyConsistent)
                    let deadline = DispatchTime.now().uptimeNanoseconds + 30_000_000_000
                    while arrived.load(ordering: .sequentiallyConsistent) < 2 {
                        if DispatchTime.now().uptimeNanoseconds > deadline {
                            timedOut.store(true, ordering: .relaxed)
                            break
                        }
                    }
                }
            }
        }
        #expect(ran)
        let waitedTooLong = timedOut.load(ordering: .relaxed)
        #expect(!waitedTooLong)
        #expect(calls == [1, 1])
        #expect(threads[0] != threads[1])
    }

    /// After its last part a worker spins for at most ``ProductWorkers/spinNanoseconds`` and then
    /// parks: with no further work, the park count grows and every started worker ends up parked.
    /// (A worker that never parked would keep a core busy for nothing; the wait's 60-second
    /// bound only keeps such a failure from hanging the suite.)
    @Test func idleWorkersPark() {
        guard ProductWorkers.workerCapacity > 0 else { return }   // one core: no workers
        let before = ProductWorkers.parks
        // On the workers themselves (not through forEachPart, which another suite's
        // `BLASThreads.maximum = 1` would keep on this thread): until this job gets them.
        let ran = Self.runOnWorkersWhenFree(2) { _ in }
        #expect(ran)
        #expect(ProductWorkers.waitUntilParked(after: before, timeout: 60))
    }

    /// With `BLASThreads.maximum` at 1 every part runs on the calling thread, even with workers
    /// idle: each of eight parts takes a millisecond, so a worker left free to claim parts would
    /// take some of them. Every part still runs once, in order.
    @Test func oneThreadAtMostKeepsEveryPartOnTheCaller() {
        guard ProductWorkers.workerCapacity > 0 else { return }   // one core: no workers anyway
        let saved = BLASThreads.maximum
        BLASThreads.maximum = 1
        defer { BLASThreads.maximum = saved }
        #expect(ProductWorkers.workerLimit == 0)
        let caller = UInt(pthread_self())
        var threads = [UInt](repeating: 0, count: 8), order = [Int]()
        threads.withUnsafeMutableBufferPointer { t in
            let out = OutputAddress(base: t.baseAddress!)
            ProductWorkers.forEachPart(8) { part in
                out.base[part] = UInt(pthread_self())
                order.append(part)
                usleep(1_000)
            }
        }
        #expect(threads == [UInt](repeating: caller, count: 8))
        #expect(order == Array(0..<8))
    }
}

/// Where the parts of a test job write (each its own entries).
private struct OutputAddress<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
}

/// A value set by another thread, and a wait for that thread to be done.
private final class LockedCount: @unchecked Sendable {
    private let condition = NSCondition()
    private var stored: Int?
    private var done = false

    var value: Int? { condition.lock(); defer { condition.unlock() }; return stored }
    func set(_ value: Int) { condition.lock(); stored = value; condition.unlock() }
    func finish() { condition.lock(); done = true; condition.broadcast(); condition.unlock() }
    func waitUntilFinished() { condition.lock(); while !done { condition.wait() }; condition.unlock() }
}
