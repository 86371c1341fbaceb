import Testing
@testable import Datasets
import Tensors

/// `batch` over `shuffle` / `repeat` over tensor `Slices` gathers rows by index instead of
/// stacking per-row tensors. These tests hold it to the element-by-element path: the same
/// batches, the same states after every batch, and states that restore across the two paths.
@Suite struct GatherFastPathTests {
    static let x = try! Tensor<Double>(shape: [23, 3], scalars: (0..<69).map { Double($0) * 0.5 })
    static let y = try! Tensor<Int64>(shape: [23], scalars: (0..<23).map { Int64($0 * 7 % 5) })

    /// The same rows through the generic `Slices(count:fetch:)`, which has no gatherer.
    static var elementwise: Slices<(Tensor<Double>, Tensor<Int64>)> {
        Slices(count: 23) { (x.row($0), y.row($0)) }
    }

    typealias Pair = (Tensor<Double>, Tensor<Int64>)
    static func key(_ batch: Pair) -> [Double] { batch.0.scalars + batch.1.scalars.map(Double.init) }

    struct Config: CustomTestStringConvertible, Sendable {
        var buffer: Int, reshuffle: Bool, repeats: Int?, batch: Int, drop: Bool, epoch: UInt64
        var testDescription: String { "shuffle \(buffer) reshuffle \(reshuffle) repeat \(repeats.map(String.init) ?? "∞") batch \(batch) drop \(drop) epoch \(epoch)" }
    }

    static let configs: [Config] = [
        Config(buffer: 23, reshuffle: true, repeats: nil, batch: 4, drop: false, epoch: 0),
        Config(buffer: 1, reshuffle: true, repeats: 2, batch: 5, drop: false, epoch: 0),
        Config(buffer: 7, reshuffle: false, repeats: 3, batch: 6, drop: true, epoch: 2),
        Config(buffer: 100, reshuffle: true, repeats: 2, batch: 32, drop: false, epoch: 5),
        Config(buffer: 5, reshuffle: true, repeats: nil, batch: 3, drop: true, epoch: 1),
    ]

    @Test(arguments: configs)
    func gatheredBatchesAndStatesEqualTheElementPath(_ c: Config) throws {
        let fast = try Slices(Self.x, Self.y).shuffle(bufferSize: c.buffer, seed: 9, reshuffleEachIteration: c.reshuffle)
            .repeat(c.repeats).batch(c.batch, dropRemainder: c.drop)
        let slow = Self.elementwise.shuffle(bufferSize: c.buffer, seed: 9, reshuffleEachIteration: c.reshuffle)
            .repeat(c.repeats).batch(c.batch, dropRemainder: c.drop)
        var a = fast.makeIterator(epoch: c.epoch), b = slow.makeIterator(epoch: c.epoch)
        #expect(a.rows != nil, "the fast path is taken")
        #expect(b.rows == nil, "a closure source has no gatherer")
        var count = 0
        while count < 40 {
            let (p, q) = (try a.next(), try b.next())
            #expect(p.map(Self.key) == q.map(Self.key))
            #expect(p?.0.shape == q?.0.shape && p?.1.shape == q?.1.shape)
            #expect(a.state == b.state, "state after batch \(count)")
            guard p != nil else { break }
            count += 1
        }
    }

    @Test(arguments: configs)
    func statesRestoreAcrossThePaths(_ c: Config) throws {
        let fast = try Slices(Self.x, Self.y).shuffle(bufferSize: c.buffer, seed: 4, reshuffleEachIteration: c.reshuffle)
            .repeat(c.repeats).batch(c.batch, dropRemainder: c.drop)
        let slow = Self.elementwise.shuffle(bufferSize: c.buffer, seed: 4, reshuffleEachIteration: c.reshuffle)
            .repeat(c.repeats).batch(c.batch, dropRemainder: c.drop)
        var reference = slow.makeIterator(epoch: c.epoch)
        let expected = try pull(&reference, 30).map(Self.key)
        for cut in [0, 1, 4, 9] where cut <= expected.count {
            var head = fast.makeIterator(epoch: c.epoch)
            _ = try pull(&head, cut)
            let saved = try IteratorState(encoded: head.state.encoded())
            var inSlow = try slow.makeIterator(resumingFrom: saved)
            var inFast = try fast.makeIterator(resumingFrom: saved)
            #expect(inFast.rows != nil)
            #expect(try pull(&inSlow, 30 - cut).map(Self.key) == Array(expected[cut...]), "fast state, element path, cut \(cut)")
            #expect(try pull(&inFast, 30 - cut).map(Self.key) == Array(expected[cut...]), "fast state, fast path, cut \(cut)")
            var slowHead = slow.makeIterator(epoch: c.epoch)
            _ = try pull(&slowHead, cut)
            var fromSlow = try fast.makeIterator(resumingFrom: slowHead.state)
            #expect(try pull(&fromSlow, 30 - cut).map(Self.key) == Array(expected[cut...]), "element state, fast path, cut \(cut)")
        }
    }

    @Test func singleTensorSlicesGatherToo() throws {
        let fast = try Slices(Self.x).shuffle(bufferSize: 10, seed: 2).repeat(2).batch(8)
        let slow = Slices(count: 23) { Self.x.row($0) }.shuffle(bufferSize: 10, seed: 2).repeat(2).batch(8)
        #expect(fast.makeIterator().rows != nil)
        #expect(try fast.collect().map(\.scalars) == slow.collect().map(\.scalars))
        #expect(try fast.collect().map(\.shape) == [[8, 3], [8, 3], [8, 3], [8, 3], [8, 3], [6, 3]])
    }

    @Test func aZeroShuffleBufferStillThrowsTheSameError() {
        let fast = try! Slices(Self.x, Self.y).shuffle(bufferSize: 0, seed: 1).batch(4)
        #expect(throws: DatasetError.self) { try fast.collect() }
    }
}
