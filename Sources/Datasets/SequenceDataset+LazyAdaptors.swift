// Why these overloads exist: `lazy.map` and `lazy.filter` hold a non-`Sendable` closure, so
// their results cannot be stored by the `Sendable` initializers. Without a better match,
// Swift then quietly picks the eager `Sequence.map` / `filter` to satisfy `Sendable`, and on an
// infinite base such as `(1...)` that call never returns. These exact-type overloads win
// overload resolution instead:
// - over a `Collection` (finite by construction) the result is materialized, which is what the
//   eager fallback always did, so `SequenceDataset((1...5).lazy.map { $0 * 2 })` still works;
// - over any other sequence the call is deprecated (its message says what to write) and
//   throwing, so it does not compile without `try`, and with `try` it throws at once.

extension SequenceDataset {
    /// A lazy `map` over a collection, materialized into an array (its cardinality is known).
    ///
    /// ```swift
    /// let doubled = SequenceDataset((1...5).lazy.map { $0 * 2 })   // [2, 4, 6, 8, 10]
    /// ```
    public init<Source: Collection, Element: Sendable>(_ base: LazyMapSequence<Source, Element>) where Base == [Element] {
        self.init(Array(base))
    }

    /// A lazy `filter` over a collection, materialized into an array.
    public init<Source: Collection>(_ base: LazyFilterSequence<Source>) where Base == [Source.Element], Source.Element: Sendable {
        self.init(Array(base))
    }

    /// Refuses a lazy `map` over a possibly infinite sequence, which would otherwise be
    /// evaluated eagerly and never return.
    /// - Throws: ``DatasetError/invalidArgument(stage:reason:)`` always.
    @available(*, deprecated, message: "a lazy map cannot be stored (its closure is not Sendable) and would run eagerly forever; write SequenceDataset(cardinality: .infinite) { (1...).lazy.map { ... } }")
    public init<Source: Sequence, Element>(_ base: LazyMapSequence<Source, Element>, cardinality: Cardinality = .unknown) throws
    where Base == LazyMapSequence<Source, Element> {
        throw Self.refusal("map")
    }

    /// Refuses a lazy `filter` over a possibly infinite sequence (see the `map` overload).
    /// - Throws: ``DatasetError/invalidArgument(stage:reason:)`` always.
    @available(*, deprecated, message: "a lazy filter cannot be stored (its closure is not Sendable) and would run eagerly forever; write SequenceDataset(cardinality: .infinite) { (1...).lazy.filter { ... } }")
    public init<Source: Sequence>(_ base: LazyFilterSequence<Source>, cardinality: Cardinality = .unknown) throws
    where Base == LazyFilterSequence<Source> {
        throw Self.refusal("filter")
    }

    private static func refusal(_ adaptor: String) -> DatasetError {
        .invalidArgument(stage: "SequenceDataset",
                         reason: "a lazy \(adaptor) over a sequence that may be infinite cannot be wrapped directly; "
                             + "build it inside SequenceDataset(cardinality:) { ... }, which creates it afresh for each pass")
    }
}
