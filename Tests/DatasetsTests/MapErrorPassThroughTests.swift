import Testing
@testable import Datasets

/// A `map` whose function fails with a `DatasetError` of its own (a nested pipeline that ran
/// out, a source it reads that refused an index) passes that error through unchanged: it
/// already names its stage and index, and wrapping it in `functionFailed` would bury them.
/// Other errors are wrapped with the stage and the element index. One test per kind of map:
/// streaming, parallel (ordered and unordered), and random-access. No test reached the
/// pass-through lines before.
@Suite("A map passes a DatasetError of its function through unchanged")
struct MapErrorPassThroughTests {
    struct Refused: Error {}

    static let inner = DatasetError.indexOutOfRange(source: "lookup", index: 9, count: 3)

    /// Fails with `inner` on element 2 and with a plain error on element 4.
    @Sendable static func lookup(_ value: Int) throws -> Int {
        if value == 2 { throw inner }
        if value == 4 { throw Refused() }
        return value * 10
    }

    static func stream(_ count: Int) -> GeneratorDataset<Int> { GeneratorDataset { $0 < count ? $0 : nil } }

    /// Whether `error` is `inner` itself, not wrapped.
    static func isInner(_ error: (any Error)?) -> Bool {
        guard case let .indexOutOfRange(source, index, count)? = error as? DatasetError else { return false }
        return source == "lookup" && index == 9 && count == 3
    }

    /// Runs `body`, which must throw `inner` unchanged.
    static func expectInner(_ body: () throws -> Any, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try body()
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch {
            #expect(isInner(error), "got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("a streaming map")
    func streamingMap() throws {
        let pipeline = Self.stream(6).map(Self.lookup)
        Self.expectInner { try pipeline.collect() }
        var iterator = pipeline.makeIterator()
        #expect(try iterator.next() == 0 && iterator.next() == 10)
        Self.expectInner { try iterator.next() as Any }
        #expect(try iterator.next() == 30)
        let wrapped = #expect(throws: DatasetError.self) { try iterator.next() }
        guard case let .functionFailed(stage, index, underlying)? = wrapped else { Issue.record("got \(String(describing: wrapped))"); return }
        #expect(stage == "map" && index == 4 && underlying is Refused)
    }

    @Test("a parallel map, ordered and unordered", arguments: [true, false])
    func parallelMap(ordered: Bool) throws {
        let pipeline = Self.stream(3).map(parallelism: 2, ordered: ordered, Self.lookup)
        Self.expectInner { try pipeline.collect() }
        let plain = Self.stream(5).filter { $0 != 2 }.map(parallelism: 2, ordered: ordered, Self.lookup)
        let wrapped = #expect(throws: DatasetError.self) { try plain.collect() }
        guard case let .functionFailed(stage, index, underlying)? = wrapped else { Issue.record("got \(String(describing: wrapped))"); return }
        #expect(stage == (ordered ? "map(parallelism:)" : "map(parallelism:ordered: false)") && index == 3 && underlying is Refused,
                "\(stage) \(index)")
    }

    @Test("a random-access map, by index and by iteration")
    func randomAccessMap() throws {
        let pipeline = RangeDataset(0..<6).map(Self.lookup)
        Self.expectInner { try pipeline.element(at: 2) }
        Self.expectInner { try pipeline.collect() }
        #expect(try pipeline.element(at: 3) == 30)
        let wrapped = #expect(throws: DatasetError.self) { try pipeline.element(at: 4) }
        guard case let .functionFailed(stage, index, underlying)? = wrapped else { Issue.record("got \(String(describing: wrapped))"); return }
        #expect(stage == "map" && index == 4 && underlying is Refused)
    }
}
