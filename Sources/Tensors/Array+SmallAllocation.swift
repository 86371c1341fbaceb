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
            self = Array(repeatElement(.zero, count: count))
            if count > 0 { withUnsafeMutableBufferPointer(body) }
        } else {
            self = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
                body(&buffer)
                initialized = count
            }
        }
    }
}
