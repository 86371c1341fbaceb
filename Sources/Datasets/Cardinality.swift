/// How many elements one pass of a dataset yields, when that is knowable without iterating.
///
/// ```swift
/// RangeDataset(0..<10).batch(3).cardinality                    // .finite(4)
/// RangeDataset(0..<10).repeat().cardinality                    // .infinite
/// RangeDataset(0..<10).filter { $0 > 2 }.cardinality           // .unknown
/// ```
public enum Cardinality: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Exactly this many elements.
    case finite(Int)
    /// The pass never ends.
    case infinite
    /// Not knowable without iterating (after `filter`, for instance).
    case unknown

    /// The count when finite.
    public var count: Int? {
        if case let .finite(n) = self { return n }
        return nil
    }

    /// `infinite`, `unknown` or the count, as error messages print it.
    public var description: String {
        switch self {
        case let .finite(n): return "\(n)"
        case .infinite: return "infinite"
        case .unknown: return "unknown"
        }
    }
}
