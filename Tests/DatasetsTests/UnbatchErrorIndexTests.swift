import Foundation
import Testing
import Tensors
@testable import Datasets

/// `unbatch()`'s errors about one input batch (features and labels of different row counts, a
/// scalar tensor) name that batch's 0-based index in the epoch, so that a user with a million
/// batches can find it; the index survives a resume (it is in the state), states written by
/// Batchwise 0.1.0 without it still resume at the same row, and other states are refused.
@Suite("unbatch() errors name the input batch's index in the epoch, across resumes")
struct UnbatchErrorIndexTests {
    static let badBatch = 3

    /// Six `(features, labels)` batches of 3 rows (row values 0, 1, 2, ...); batch `badBatch`
    /// has 2 labels.
    static func pairs() -> GeneratorDataset<(Tensor<Float>, Tensor<Float>)> {
        GeneratorDataset { batch in
            guard batch < 6 else { return nil }
            let values = (0..<3).map { Float(batch * 3 + $0) }
            let labels = batch == badBatch ? Array(values.prefix(2)) : values
            return (try Tensor(shape: [3, 1], scalars: values), try Tensor(shape: [labels.count], scalars: labels))
        }
    }

    static let pairMessage = "unbatch: features [3, 1] and labels [2] differ in rows (input batch 3 of this epoch, 0-based)"

    /// Pulls rows until the pipeline throws; returns the rows' first values and the message.
    static func rowsUntilError<I: DatasetIterator>(_ iterator: inout I) -> (rows: [Float], message: String?)
    where I.Element == (Tensor<Float>, Tensor<Float>) {
        var rows: [Float] = []
        do {
            while let row = try iterator.next() { rows.append(row.0.scalars[0]) }
        } catch let error as DatasetError {
            guard case let .invalidArgument(stage, _) = error, stage == "unbatch" else { return (rows, "wrong case: \(error)") }
            return (rows, error.localizedDescription)
        } catch {
            return (rows, "untyped: \(error)")
        }
        return (rows, nil)
    }

    @Test("a bad (features, labels) batch in the middle is named by its index")
    func pairIndexInTheMiddle() {
        var iterator = Self.pairs().unbatch().makeIterator()
        let (rows, message) = Self.rowsUntilError(&iterator)
        #expect(message == Self.pairMessage)
        #expect(rows == (0..<9).map(Float.init))
    }

    @Test("a scalar tensor in the middle is named by its index")
    func scalarIndexInTheMiddle() throws {
        let data = GeneratorDataset<Tensor<Float>> { batch in
            guard batch < 4 else { return nil }
            return batch == 2 ? try Tensor(shape: [], scalars: [0]) : try Tensor(shape: [2], scalars: [1, 2])
        }
        do {
            _ = try data.unbatch().collect()
            Issue.record("unbatched a scalar")
        } catch {
            #expect(error.localizedDescription == "unbatch: cannot unbatch a scalar tensor (input batch 2 of this epoch, 0-based)")
        }
    }

    /// Resumes after `consumed` rows (inside batch 1 at 4, at the end of batch 1 at 6, inside
    /// the bad batch's predecessor at 8) through encoded bytes.
    @Test("after resuming from a state captured mid-epoch the index is the uninterrupted one", arguments: [4, 6, 8])
    func indexAfterResume(consumed: Int) throws {
        let data = Self.pairs().unbatch()
        var first = data.makeIterator()
        for _ in 0..<consumed { _ = try first.next() }
        let state = try IteratorState(encoded: first.state.encoded())
        #expect(state.counters == [consumed % 3, consumed / 3], "\(state.counters)")
        var resumed = try data.makeIterator(resumingFrom: state)
        let (rows, message) = Self.rowsUntilError(&resumed)
        #expect(message == Self.pairMessage)
        #expect(rows == (consumed..<9).map(Float.init))
    }

    /// The state Batchwise 0.1.0 wrote: `counters` [offset] only, the same child.
    static func releasedFormat(_ state: IteratorState) -> IteratorState {
        IteratorState(kind: "unbatch", counters: [state.counters[0]], children: state.children)
    }

    @Test("a 0.1.0 state (offset only) resumes at the same row and counts batches from the resume", arguments: [4, 6])
    func releasedFormatResumes(consumed: Int) throws {
        let data = Self.pairs().unbatch()
        var first = data.makeIterator()
        for _ in 0..<consumed { _ = try first.next() }
        let old = Self.releasedFormat(first.state)
        let json = String(decoding: try old.encoded(), as: UTF8.self)
        #expect(json.hasPrefix("{\"children\":[{") && json.hasSuffix("\"counters\":[\(consumed % 3)],\"indices\":[],\"kind\":\"unbatch\",\"seeds\":[]}"),
                "\(json)")
        var resumed = try data.makeIterator(resumingFrom: IteratorState(encoded: old.encoded()))
        _ = try resumed.next()
        // What it does not know it does not write: its state stays in the released format.
        #expect(resumed.state.counters == [(consumed + 1) % 3])
        let (rows, message) = Self.rowsUntilError(&resumed)
        #expect(rows == (consumed + 1..<9).map(Float.init))
        let sinceResume = Self.badBatch - consumed / 3
        #expect(message == "unbatch: features [3, 1] and labels [2] differ in rows (input batch \(sinceResume) since resuming, "
            + "0-based; its index in the epoch is unknown: the state was written without one)")
    }

    @Test("a state of another kind, other counts or negative numbers is refused")
    func foreignStatesRefused() throws {
        let data = Self.pairs().unbatch()
        var first = data.makeIterator()
        for _ in 0..<4 { _ = try first.next() }
        let good = first.state
        var foreign: [(IteratorState, String)] = [
            (IteratorState(kind: "batch", counters: good.counters, children: good.children), "batch (2 counters, 0 seeds, 1 children)"),
            (IteratorState(kind: "unbatch", counters: good.counters + [0], children: good.children), "unbatch (3 counters, 0 seeds, 1 children)"),
            (IteratorState(kind: "unbatch", counters: [], children: good.children), "unbatch (0 counters, 0 seeds, 1 children)"),
            (IteratorState(kind: "unbatch", counters: good.counters), "unbatch (2 counters, 0 seeds, 0 children)"),
        ]
        foreign.append((IteratorState(kind: "unbatch", counters: [1, -1], children: good.children), "offset 1, batch index -1"))
        foreign.append((IteratorState(kind: "unbatch", counters: [-1, 1], children: good.children), "offset -1, batch index 1"))
        for (state, found) in foreign {
            do {
                _ = try data.makeIterator(resumingFrom: state)
                Issue.record("resumed from \(state)")
            } catch let DatasetError.incompatibleState(_, gotFound) {
                #expect(gotFound == found)
            } catch {
                Issue.record("untyped: \(error)")
            }
        }
    }
}
