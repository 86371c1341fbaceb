/// One pass over a ``Dataset``: a throwing iterator whose position can be saved as a value.
///
/// Swift's `IteratorProtocol.next()` cannot throw, and datasets read files, so Batchwise uses
/// this protocol everywhere instead (prefetch and parallel map included).
///
/// ```swift
/// var it = RangeDataset(0..<10).batch(3).makeIterator()
/// while let batch = try it.next() { print(batch) }     // [0, 1, 2] ... [9]
/// ```
public protocol DatasetIterator<Element> {
    /// The element type.
    associatedtype Element
    /// The next element, or `nil` at the end of the pass.
    mutating func next() throws -> Element?
    /// Where this iterator stands, as a small codable value; restore it with
    /// ``Dataset/makeIterator(resumingFrom:)``.
    var state: IteratorState { get }
}
