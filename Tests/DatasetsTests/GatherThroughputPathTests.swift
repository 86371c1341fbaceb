import Testing
@testable import Datasets
import Tensors

/// The throughput pieces of the gather fast path: the grouped row copy for wide rows, and the
/// one-buffer index shuffle. Both are held to the element-by-element path (values, states,
/// restores), past the points where the shuffle's replay log takes snapshots.
@Suite struct GatherThroughputPathTests {
    /// 83 floats = 332 bytes: wide enough for the grouped copy, with a 12-byte tail per row.
    static let wide = try! Tensor<Float>(shape: [41, 83], scalars: (0..<(41 * 83)).map { Float($0) })
    /// 64 doubles = 512 bytes: whole cache lines, no tail.
    static let lines = try! Tensor<Double>(shape: [29, 64], scalars: (0..<(29 * 64)).map { Double($0) * 0.25 })
    static let labels = try! Tensor<Int64>(shape: [41], scalars: (0..<41).map { Int64($0 * 3 % 7) })

    @Test func wideRowsGatherToTheSameBatchesAsPerRowTensors() throws {
        // 13 rows per batch: one group of eight, then five; the last batch is shorter still.
        let fast = try Slices(Self.wide, Self.labels).shuffle(bufferSize: 41, seed: 5).repeat(2).batch(13)
        let slow = Slices(count: 41) { (Self.wide.row($0), Self.labels.row($0)) }
            .shuffle(bufferSize: 41, seed: 5).repeat(2).batch(13)
        #expect(fast.makeIterator().rows != nil, "the fast path is taken")
        let got = try fast.collect(), want = try slow.collect()
        #expect(got.map(\.0.scalars) == want.map(\.0.scalars))
        #expect(got.map(\.0.shape) == want.map(\.0.shape))
        #expect(got.map(\.1.scalars) == want.map(\.1.scalars))
        #expect(got.map(\.0.shape.first!) == [13, 13, 13, 13, 13, 13, 4])

        let whole = try Slices(Self.lines).shuffle(bufferSize: 29, seed: 8).batch(9).collect()
        let reference = try Slices(count: 29) { Self.lines.row($0) }.shuffle(bufferSize: 29, seed: 8).batch(9).collect()
        #expect(whole.map(\.scalars) == reference.map(\.scalars))
    }

    @Test func gatherRowsCopiesEachRowToItsPlace() {
        // Row r of the source holds bytes r, r+1, ...; every row length around the thresholds.
        for rowBytes in [1, 63, 64, 255, 256, 300, 320, 1_000] {
            let rows = 20
            let source = (0..<(rows * rowBytes)).map { UInt8(truncatingIfNeeded: $0 / rowBytes * 31 + $0 % rowBytes) }
            // Three groups of the copy (8, 8, 3), each prefetched while the one before is copied.
            let picks = [19, 0, 7, 7, 3, 12, 18, 1, 5, 9, 2, 16, 4, 4, 11, 0, 13, 6, 17]
            var target = [UInt8](repeating: 0, count: picks.count * rowBytes)
            source.withUnsafeBytes { from in
                target.withUnsafeMutableBytes { to in
                    picks.withUnsafeBufferPointer { gatherRows(from: from.baseAddress!, rowBytes: rowBytes, indices: $0, into: to.baseAddress!) }
                }
            }
            let expected = picks.flatMap { source[($0 * rowBytes)..<(($0 + 1) * rowBytes)] }
            let firstWrong = target.indices.first { $0 >= expected.count || target[$0] != expected[$0] }
            #expect(target.count == expected.count && firstWrong == nil, "row length \(rowBytes), first wrong byte \(String(describing: firstWrong))")
        }
    }

    /// 700 rows with a 100-row buffer: the shuffle snapshots its input every 256 pulls, so the
    /// states below come from the replay log's later entries, not only its first.
    static let many = try! Tensor<Double>(shape: [700, 2], scalars: (0..<1_400).map { Double($0) })

    @Test func indexShuffleStatesEqualTheElementPathPastTheSnapshots() throws {
        let fast = try Slices(Self.many).shuffle(bufferSize: 100, seed: 12).repeat(2).batch(50)
        let slow = Slices(count: 700) { Self.many.row($0) }.shuffle(bufferSize: 100, seed: 12).repeat(2).batch(50)
        var a = fast.makeIterator(epoch: 3), b = slow.makeIterator(epoch: 3)
        #expect(a.rows != nil)
        var batches = 0
        while true {
            let (p, q) = (try a.next(), try b.next())
            #expect(p?.scalars == q?.scalars)
            #expect(a.state == b.state, "state after batch \(batches)")
            guard p != nil else { break }
            batches += 1
        }
        #expect(batches == 28)

        var reference = slow.makeIterator(epoch: 3)
        let expected = try pull(&reference, 28).map(\.scalars)
        for cut in [6, 11, 15, 27] {
            var head = fast.makeIterator(epoch: 3)
            _ = try pull(&head, cut)
            var inSlow = try slow.makeIterator(resumingFrom: head.state)
            var inFast = try fast.makeIterator(resumingFrom: head.state)
            #expect(try pull(&inSlow, 28).map(\.scalars) == Array(expected[cut...]), "cut \(cut), element path")
            #expect(try pull(&inFast, 28).map(\.scalars) == Array(expected[cut...]), "cut \(cut), fast path")
            // A restored fast iterator keeps taking snapshots exactly like the element path.
            var slowHead = slow.makeIterator(epoch: 3)
            _ = try pull(&slowHead, cut)
            var restoredFast = try fast.makeIterator(resumingFrom: slowHead.state)
            var restoredSlow = try slow.makeIterator(resumingFrom: slowHead.state)
            for _ in cut..<28 {
                _ = try restoredFast.next()
                _ = try restoredSlow.next()
                #expect(restoredFast.state == restoredSlow.state, "restored at \(cut)")
            }
        }
    }

    @Test func aHandMadeStateWhoseBufferIsNotItsOrdinalsFallsBackToTheGeneralShuffle() throws {
        let general = Slices(count: 10) { $0 }.shuffle(bufferSize: 4, seed: 3)
        var it = general.makeIterator()
        _ = try pull(&it, 2)
        var state = it.state
        // Replaying the input from position 1 instead of 0 puts rows 1... into the buffer.
        state.children[0].counters[0] = 1
        let rows = ShuffledRowIndices(count: 10, bufferSize: 4, seed: 3, reshuffleEachIteration: true)
        var fast = try rows.makeIterator(resumingFrom: state)
        var slow = try general.makeIterator(resumingFrom: state)
        for _ in 0..<9 {
            #expect(try fast.next() == slow.next())
            #expect(fast.state == slow.state)
        }
    }
}
