import Foundation
import Synchronization
@testable import Datasets

/// Counts how many tracked elements exist at once, and the most that ever did.
final class LiveCounter: Sendable {
    private let live = Atomic<Int>(0)
    private let highest = Atomic<Int>(0)
    private let made = Atomic<Int>(0)

    var current: Int { live.load(ordering: .sequentiallyConsistent) }
    var peak: Int { highest.load(ordering: .sequentiallyConsistent) }
    var created: Int { made.load(ordering: .sequentiallyConsistent) }

    func born() {
        made.add(1, ordering: .sequentiallyConsistent)
        let now = live.add(1, ordering: .sequentiallyConsistent).newValue
        var seen = highest.load(ordering: .sequentiallyConsistent)
        while now > seen {
            let (exchanged, original) = highest.compareExchange(
                expected: seen, desired: now, ordering: .sequentiallyConsistent)
            if exchanged { break }
            seen = original
        }
    }

    func died() { live.subtract(1, ordering: .sequentiallyConsistent) }
}

/// An element that reports its lifetime to a ``LiveCounter``, so a test sees how many produced
/// elements are held anywhere (buffers, in-flight results, the consumer's hand).
final class Tracked: Sendable {
    let value: Int
    let counter: LiveCounter
    init(_ value: Int, _ counter: LiveCounter) {
        self.value = value
        self.counter = counter
        counter.born()
    }
    deinit { counter.died() }
}

/// Thrown by stress producers and transforms at a chosen element.
struct Planned: Error, Equatable { let at: Int }

/// What became of a run started by ``runWithDeadline(seconds:_:)``.
enum DeadlineOutcome<T> {
    case finished(T)
    case failed(any Error)
    case timedOut
}

/// A result written by one thread and read by another after a semaphore hand-off.
final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// Runs `body` on its own thread and waits at most `seconds`, so a deadlock fails the test
/// instead of hanging the suite (the stuck thread is abandoned).
func runWithDeadline<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () throws -> T) -> DeadlineOutcome<T> {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        box.result = Result { try body() }
        done.signal()
    }
    thread.stackSize = 8 << 20
    thread.start()
    guard done.wait(timeout: .now() + seconds) == .success else { return .timedOut }
    switch box.result! {
    case let .success(value): return .finished(value)
    case let .failure(error): return .failed(error)
    }
}

/// How many rounds a stress test runs: a quick default, or many more with
/// `BATCHWISE_STRESS=long` (or a number) in the environment.
func stressRounds(_ quick: Int) -> Int {
    guard let setting = ProcessInfo.processInfo.environment["BATCHWISE_STRESS"] else { return quick }
    if let count = Int(setting) { return count }
    return setting == "long" ? quick * 50 : quick
}

/// A deadline that grows with the number of rounds (sanitizers slow a round down about 10x).
func stressDeadline(_ rounds: Int) -> Double { 30 + Double(rounds) * 0.05 }
