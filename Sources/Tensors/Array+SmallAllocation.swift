extension Array where Element: TensorScalar {
    /// The most elements for which `init(count:writingEachElementWith:)` fills the new array
    /// with zeros first instead of allocating it uninitialized.
    @inlinable package static var zeroFilledAllocationLimit: Int { 512 }

    /// An array of `count` elements, each of which `body` writes through the buffer it is given
    /// (it must not read them: they start as zeros or uninitialized).
    ///
    /// The same as `Array(unsafeUninitializedCapacity:initializingWith:)` setting the count to
    /// `count`, but cheaper for small arrays. That initializer allocates through a function of
    /// the standard library that is neither inlinable nor specialized, which looks up the
    /// storage class's generic metadata at run time (about 350 instructions on Linux, more than
    /// a small model's layer spends on its arithmetic); an array built from
    /// `repeatElement(.zero, count:)` gets its storage from specialized code. Zero-filling costs
    /// less than that look-up up to `zeroFilledAllocationLimit` elements; beyond it the array
    /// is allocated uninitialized. An empty array never allocates.
    @inlinable
    package init(count: Int, writingEachElementWith body: (inout UnsafeMutableBufferPointer<Element>) -> Void) {
        precondition(count >= 0, "an array cannot have \(count) elements")
        if count <= Self.zeroFilledAllocationLimit {
            if Element.self == Float.self {
                // Copied from a buffer of zeros: one memcpy, where building from
                // `repeatElement` stores element by element (about 2.4 instructions each, a
                // fifth of a small model's allocation cost). Same specialized allocation.
                let zeros = UnsafeBufferPointer(start: smallAllocationZeroFloats, count: count)
                self = unsafeBitCast(Array<Float>(zeros), to: [Element].self)
            } else {
                self = Array(repeatElement(.zero, count: count))
            }
            if count > 0 { withUnsafeMutableBufferPointer(body) }
        } else {
            self = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
                body(&buffer)
                initialized = count
            }
        }
    }
}

/// `zeroFilledAllocationLimit` zeros that ``Swift/Array/init(count:writingEachElementWith:)``
/// copies a new small `Float` array from. Never written after it is made, so sharing it
/// between threads is safe (a pointer is not `Sendable`, hence `nonisolated(unsafe)`).
@usableFromInline
nonisolated(unsafe) let smallAllocationZeroFloats: UnsafePointer<Float> = {
    let zeros = UnsafeMutablePointer<Float>.allocate(capacity: [Float].zeroFilledAllocationLimit)
    zeros.initialize(repeating: 0, count: [Float].zeroFilledAllocationLimit)
    return UnsafePointer(zeros)
}()
