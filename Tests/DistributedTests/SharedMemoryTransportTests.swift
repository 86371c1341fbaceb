@testable import Distributed
import Foundation
import Testing

/// Stop 19's decision whether a shared-memory window carries fast mode's reduction, and how its
/// slices cut the values, without MPI.
struct SharedMemoryDecisionTests {
    /// The window is used only when every rank is on this node, found room for the segments
    /// and allocated its segment; ranks split over nodes (here 3 of 4, and the single rank of the other node,
    /// which sees 1 of 4) fall back, as does a world of one.
    @Test func theWindowIsUsedOnlyWhenEveryRankSharesTheNodeAndAllocated() {
        #expect(SharedMemoryDecision.decide(worldRanks: 2, nodeRanks: 2, allocatedOnEveryRank: true) == .useWindow)
        #expect(SharedMemoryDecision.decide(worldRanks: 4, nodeRanks: 4, allocatedOnEveryRank: true) == .useWindow)
        #expect(SharedMemoryDecision.decide(worldRanks: 4, nodeRanks: 3, allocatedOnEveryRank: true)
                == .fallBack(reason: "3 of 4 ranks share this node"))
        #expect(SharedMemoryDecision.decide(worldRanks: 4, nodeRanks: 1, allocatedOnEveryRank: false)
                == .fallBack(reason: "1 of 4 ranks share this node"))
        #expect(SharedMemoryDecision.decide(worldRanks: 2, nodeRanks: 2, allocatedOnEveryRank: false)
                == .fallBack(reason: "MPI_Win_allocate_shared failed on a rank"))
        #expect(SharedMemoryDecision.decide(worldRanks: 2, nodeRanks: 2, roomOnEveryRank: false, allocatedOnEveryRank: false)
                == .fallBack(reason: "too little free space for the window in its backing directory"))
        #expect(SharedMemoryDecision.decide(worldRanks: 1, nodeRanks: 1, allocatedOnEveryRank: true)
                == .fallBack(reason: "a world of one has nothing to exchange"))
    }

    /// The default transport takes the window in fast mode only: ordered mode's fold along the
    /// ranks spent less of the step in MPI calls than the window's fold (docs/distributed.md).
    @Test func theAutomaticTransportTakesTheWindowInFastModeOnly() {
        #expect(ReductionTransport.automatic.usesWindow(in: .fast) && !ReductionTransport.automatic.usesWindow(in: .ordered))
        #expect(ReductionTransport.sharedMemory.usesWindow(in: .fast) && ReductionTransport.sharedMemory.usesWindow(in: .ordered))
        #expect(!ReductionTransport.collectives.usesWindow(in: .fast) && !ReductionTransport.collectives.usesWindow(in: .ordered))
    }

    /// The ranks' slices cover every value once, in order, and start on 64-byte boundaries, for
    /// counts smaller than the ranks, uneven ones and the benchmark's 271,373 values.
    @Test(arguments: [1, 2, 3, 4, 8])
    func slicesPartitionTheValuesOnCacheLineBoundaries(ranks: Int) {
        for count in [0, 1, 15, 17, 100_003, 271_373] {
            let slices = (0..<ranks).map { SharedMemoryWindow.slice(of: $0, ranks: ranks, count: count) }
            #expect(slices.first?.lowerBound == 0 && slices.last?.upperBound == count, "\(ranks) ranks, \(count) values")
            for (left, right) in zip(slices, slices.dropFirst()) { #expect(left.upperBound == right.lowerBound) }
            for slice in slices.dropFirst() where slice.lowerBound < count { #expect(slice.lowerBound % 16 == 0) }
        }
    }

    /// The room check reads the backing directory Open MPI's setting names, `/dev/shm` by
    /// default; a directory that does not exist has no room.
    @Test func theRoomCheckReadsTheBackingDirectory() {
        #expect(SharedMemoryWindow.freeBackingBytes(environment: ["OMPI_MCA_osc_sm_backing_directory": "/nonexistent-\(getpid())"]) == 0)
        #expect(SharedMemoryWindow.freeBackingBytes(environment: ["OMPI_MCA_osc_sm_backing_directory": NSTemporaryDirectory()]) > 0)
    }

    /// A world of one opens no window (nothing to exchange): the trainer keeps the collectives'
    /// path, whose world-of-one calls do nothing.
    @Test func aWorldOfOneOpensNoWindow() throws {
        let world = try Communicator.world(environment: [:])
        #expect(try SharedMemoryAllReduce.open(on: world, capacity: 10) == nil)
    }
}

#if os(Linux)
extension MPIRunTests {
    /// Files Open MPI's shared-memory window component (`osc/sm`) backs its segments with, in
    /// `/dev/shm` and the session directories under the temporary directory.
    static func windowBackingFiles() -> Set<String> {
        var found: Set<String> = []
        var folders = ["/dev/shm"]
        let temporary = FileManager.default.temporaryDirectory.path
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where entry.hasPrefix("ompi.") {
            folders.append("\(temporary)/\(entry)")
        }
        for folder in folders {
            guard let walker = FileManager.default.enumerator(atPath: folder) else { continue }
            for case let path as String in walker where path.contains("osc_sm") || path.contains("osc.sm") { found.insert("\(folder)/\(path)") }
        }
        return found
    }

    /// `SharedMemoryAllReduce` against `MPI_Allreduce` of the same values (of many magnitudes,
    /// different on every rank) in three exchanges through one window (100,003 values, a third
    /// of them, none): bitwise equal on 2 ranks, within 1e-5 on 4 (where Open MPI adds in
    /// another order), and the same bits on every rank. No backing file is left behind.
    @Test func sharedMemorySumsEqualMPIAllreduceBitwiseOnTwoRanksAndWithinToleranceOnFour() throws {
        let before = Self.windowBackingFiles()
        for ranks in [2, 4] {
            let run = try MPIRun.start(ranks: ranks, check: "shared-memory-sum", arguments: ["count": "100003"])
            #expect(run.status == 0, "\(run.output)")
            let first = try #require(run.reports[0], "\(run.output)")
            #expect(first["opened"] == ["yes"], "\(ranks) ranks: no window")
            for round in 0..<3 {
                let mpi = try Self.floats(#require(first["mpi-\(round)"])), shared = try Self.floats(#require(first["shared-\(round)"]))
                #expect(mpi.count == [100_003, 33_334, 0][round])
                #expect(shared.count == mpi.count)
                if ranks == 2 {
                    #expect(first["shared-\(round)"] == first["mpi-\(round)"], "round \(round): not bitwise MPI_Allreduce's sums")
                } else {
                    let far = zip(shared, mpi).filter { abs($0 - $1) > 1e-5 * max(1, abs($1)) }
                    #expect(far.isEmpty, "round \(round): \(far.prefix(5))")
                }
                for rank in 1..<ranks { #expect(run.reports[rank]?["shared-\(round)"] == first["shared-\(round)"], "rank \(rank)") }
            }
        }
        #expect(Self.windowBackingFiles().subtracting(before).isEmpty, "shared-memory segments outlived the runs")
    }

    /// With no transport asked, on 2 ranks of this node: fast mode's gradients go through the
    /// window and ordered mode's fold through the collectives (``ReductionTransport/automatic``).
    @Test func theDefaultTransportIsTheWindowInFastModeAndTheCollectivesInOrderedMode() throws {
        for (mode, expected) in [(ReductionMode.fast, "shared-memory-window"), (.ordered, "collectives")] {
            let run = try MPIRun.start(ranks: 2, check: "train", arguments: Self.trainArguments(mode: mode, batchNorm: true))
            #expect(run.status == 0, "\(run.output)")
            #expect(run.reports[0]?["transport"] == [expected], "\(mode): \(run.output)")
        }
    }

    /// The `train` check with `arguments` on `ranks` ranks, with `--transport shared-memory` and
    /// with `--transport collectives`: both must end well, each reporting the transport asked
    /// for. Returns the window's run and the collectives' rank 0 report.
    static func runWithBothTransports(ranks: Int, _ arguments: [String: String]) throws -> (window: MPIRun, expected: [String: [String]]) {
        var shared = arguments, collectives = arguments
        (shared["transport"], collectives["transport"]) = ("shared-memory", "collectives")
        let window = try MPIRun.start(ranks: ranks, check: "train", arguments: shared)
        let reference = try MPIRun.start(ranks: ranks, check: "train", arguments: collectives)
        #expect(window.status == 0 && reference.status == 0, "\(window.output)\n\(reference.output)")
        let expected = try #require(reference.reports[0], "\(reference.output)")
        #expect(window.reports[0]?["transport"] == ["shared-memory-window"] && expected["transport"] == ["collectives"])
        return (window, expected)
    }

    /// Fast mode with the gradients through the shared-memory window against the collectives
    /// (the 1,024-unit model with images BatchNormalization, whose hidden kernel is a large
    /// gradient; 51 rows: the last step's 3 rows leave a rank without rows): on 2 ranks every
    /// step's hash and loss, the epoch losses and the weights are bitwise those of the
    /// collectives on every rank; on 4 ranks (the 8-unit model) every rank holds the same
    /// weights after every step, within 1e-5 of the collectives' run. The report confirms which
    /// transport carried the gradients.
    @Test func fastModeThroughSharedMemoryMatchesTheCollectives() throws {
        var wide = Self.trainArguments(mode: .fast, batchNorm: true)
        (wide["hidden"], wide["images"], wide["optimizer"]) = ("1024", "1", "sgd")
        for (ranks, base) in [(2, wide), (4, Self.trainArguments(mode: .fast, batchNorm: true))] {
            let (window, expected) = try Self.runWithBothTransports(ranks: ranks, base)
            let first = try #require(window.reports[0], "\(window.output)")
            for rank in 0..<ranks {
                for label in Self.stepLabels + ["weights", "losses"] {
                    #expect(window.reports[rank]?[label] == first[label], "\(ranks) ranks, rank \(rank): \(label)")
                    if ranks == 2 { #expect(window.reports[rank]?[label] == expected[label], "rank \(rank): \(label)") }
                }
            }
            let weights = try Self.floats(#require(first["weights"])), collectiveWeights = try Self.floats(#require(expected["weights"]))
            #expect(weights.count == collectiveWeights.count)
            let far = zip(weights, collectiveWeights).filter { abs($0 - $1) > 1e-5 * max(1, abs($1)) }
            #expect(far.isEmpty, "\(ranks) ranks: \(far.prefix(5))")
        }
    }

    /// Without room for the window in its backing directory (here one that does not exist, as
    /// Docker's 64 MB /dev/shm would be for a large model), no rank allocates one: every rank
    /// decides alike, `SharedMemoryAllReduce.open` returns nil, and the trainers of both modes
    /// carry the gradients by the collectives, with bitwise their results.
    @Test func withoutRoomForTheWindowEveryRankFallsBackToTheCollectives() throws {
        let missing = "/nonexistent-batchwise-\(getpid())"
        let sum = try MPIRun.start(ranks: 2, check: "shared-memory-sum", arguments: ["count": "1000", "backing-directory": missing])
        #expect(sum.status == 0, "\(sum.output)")
        for rank in 0..<2 { #expect(sum.reports[rank]?["opened"] == ["no"], "rank \(rank): \(sum.output)") }
        for mode in ReductionMode.allCases {
            var arguments = Self.trainArguments(mode: mode, batchNorm: true)
            (arguments["hidden"], arguments["images"]) = ("1024", "1")
            var noRoom = arguments, collectives = arguments
            (noRoom["backing-directory"], collectives["transport"]) = (missing, "collectives")
            let fallback = try MPIRun.start(ranks: 2, check: "train", arguments: noRoom)
            let reference = try MPIRun.start(ranks: 2, check: "train", arguments: collectives)
            #expect(fallback.status == 0 && reference.status == 0, "\(fallback.output)\n\(reference.output)")
            for rank in 0..<2 {
                #expect(fallback.reports[rank]?["transport"] == ["collectives"], "\(mode) rank \(rank)")
                #expect(fallback.reports[rank]?["weights"] != nil && fallback.reports[rank]?["weights"] == reference.reports[rank]?["weights"])
            }
        }
    }

    /// Ordered mode folding the micro-shards' gradient sums through the window (the 1,024-unit
    /// model: a vector of over 8,000 values; 51 rows, a short last step) against the fold along
    /// the ranks: every step's hash and loss, the epoch losses and the weights are bitwise the
    /// same on every rank of 2 and 4 ranks (the 1/2/4-rank test checks them against a world of one).
    @Test func orderedModeThroughSharedMemoryEqualsTheFoldAlongTheRanksBitwise() throws {
        var base = Self.trainArguments(mode: .ordered, batchNorm: true)
        (base["hidden"], base["images"]) = ("1024", "1")
        for ranks in [2, 4] {
            let (window, expected) = try Self.runWithBothTransports(ranks: ranks, base)
            #expect(expected["weights"] != nil)
            for rank in 0..<ranks {
                for label in Self.stepLabels + ["weights", "losses"] {
                    #expect(window.reports[rank]?[label] == expected[label], "\(ranks) ranks, rank \(rank): \(label)")
                }
            }
        }
    }
}
#endif
