import Foundation
import Testing
@testable import HDF5

@Suite("Many threads at once: one recursive lock keeps libhdf5 consistent")
struct ConcurrencyTests {
    @Test func threadsWritingAndReadingSeparateFilesAndOneSharedFileGetTheirOwnData() throws {
        try withTemporaryDirectory { dir in
            let shared = try HDF5File.create(at: dir.appendingPathComponent("shared.h5"))
            let workers = 8
            let rounds = 20
            let failures = FailureLog()
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                do {
                    let own = try HDF5File.create(at: dir.appendingPathComponent("w\(worker).h5"))
                    for round in 0..<rounds {
                        let values = (0..<64).map { Double(worker * 10_000 + round * 100 + $0) }
                        try own.write(values, shape: [8, 8], to: "r\(round)", options: round.isMultiple(of: 2) ? .compressed() : .contiguous)
                        try shared.write(values, shape: [8, 8], to: "w\(worker)/r\(round)")
                        try shared.setAttribute("worker", Int64(worker), on: "w\(worker)/r\(round)")
                        if try own.read("r\(round)", as: Double.self).values != values { failures.add("own \(worker)/\(round)") }
                        let back = try shared.dataset(at: "w\(worker)/r\(round)").readRows(2..<4, as: Double.self)
                        if back.values != Array(values[16..<32]) { failures.add("shared \(worker)/\(round)") }
                    }
                    try own.close()
                } catch {
                    failures.add("worker \(worker): \(error)")
                }
            }
            #expect(failures.messages.isEmpty)
            #expect(try shared.children().count == workers)
            for worker in 0..<workers {
                #expect(try shared.readAttribute("worker", of: "w\(worker)/r\(rounds - 1)", as: Int64.self) == Int64(worker))
            }
            #expect(try shared.openObjectCount() == 1)
            try shared.close()
        }
    }

    @Test func theLockIsReentrantSoNestedCallsDoNotDeadlock() throws {
        try withTemporaryDirectory { dir in
            let file = try HDF5File.create(at: dir.appendingPathComponent("n.h5"))
            let value = try HDF5Library.withLock {
                try HDF5Library.withLock {
                    try file.write([Int64(5)], to: "x")
                    return try file.read("x", as: Int64.self).values
                }
            }
            #expect(value == [5])
        }
    }
}

final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func add(_ message: String) { lock.lock(); stored.append(message); lock.unlock() }
    var messages: [String] { lock.lock(); defer { lock.unlock() }; return stored }
}
