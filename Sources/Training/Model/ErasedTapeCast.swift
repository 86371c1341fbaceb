/// Recovering a layer's tape from the model's list of type-erased tapes.
extension Layer {
    /// `erased as? Tape`, for the tape this layer type's forward pass stored: the exact type
    /// is compared and the value taken out of the existential as that type. The general cast
    /// (`swift_dynamicCast`) costs about 490 instructions a call, as much as a seed-model
    /// layer's arithmetic, because it also looks for conversions (optionals, bridging,
    /// protocol conformances) that a model's own tapes never need. Nil for any other type,
    /// including an optional holding a tape (which `as?` would unwrap: a model's forward pass
    /// stores its tapes unwrapped).
    @inline(__always)
    static func tape(fromErased erased: any Sendable) -> Tape? {
        guard type(of: erased) == Tape.self else { return nil }
        return tape(reinterpreting: erased)   // opens the existential
    }

    /// The value of an opened existential whose dynamic type the caller checked is `Tape`.
    private static func tape<Opened: Sendable>(reinterpreting value: Opened) -> Tape {
        unsafeBitCast(value, to: Tape.self)
    }
}
