/// The one pseudo-random generator Batchwise uses: SplitMix64 (Steele, Lea and Flood, 2014).
///
/// Its whole state is one `UInt64`, so it can be saved in a checkpoint and restored exactly,
/// and it gives the same stream on every machine. It is fast (a few nanoseconds per draw)
/// and passes BigCrush; it is not cryptographic.
///
/// ```swift
/// var rng = SplitMix64(seed: 18)
/// let u = rng.nextUniform()            // Double in [0, 1)
/// let i = rng.nextIndex(below: 10)     // Int in 0..<10, unbiased
/// let saved = rng.state                // restore with SplitMix64(state: saved)
/// ```
///
/// Derived streams (one per epoch, per layer, per worker) come from ``derived(_:)``, which
/// mixes the parent seed with a label by hashing rather than adding, so `seed + 1` and
/// `epoch + 1` can never collide.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable, Codable {
    /// The complete generator state.
    public var state: UInt64

    /// A generator seeded with `seed`.
    public init(seed: UInt64) { self.state = seed }

    /// A generator that continues from a saved ``state``.
    public init(state: UInt64) { self.state = state }

    /// The next 64 random bits: Steele, Lea and Flood's SplitMix64 (add the golden-ratio
    /// increment, then mix), fixed here so a seed gives the same stream on every platform.
    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The generator as it is after `draws` more calls of ``next()``, in constant time: the
    /// state is a counter advanced by a fixed increment, so draw `n` of a stream can be reached
    /// without drawing the ones before it (Dropout's per-example masks in data-parallel training).
    @inlinable
    public func advanced(by draws: UInt64) -> SplitMix64 {
        SplitMix64(state: state &+ draws &* 0x9E37_79B9_7F4A_7C15)
    }

    /// The SplitMix64 output function (a strong 64-bit bijective mixer).
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A seed for an independent stream identified by `labels` (for example an epoch number).
    public static func derivedSeed(_ seed: UInt64, _ labels: UInt64...) -> UInt64 {
        var value = mix(seed ^ 0x5851_F42D_4C95_7F2D)
        for label in labels { value = mix(value ^ mix(label &+ 0x9E37_79B9_7F4A_7C15)) }
        return value
    }

    /// A new generator for the stream identified by `label`, leaving this one untouched.
    public func derived(_ label: UInt64) -> SplitMix64 {
        SplitMix64(seed: SplitMix64.derivedSeed(state, label))
    }

    /// A uniform `Double` in [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform `Float` in [0, 1) with 24 random bits.
    @inlinable
    public mutating func nextUniformFloat() -> Float {
        Float(next() >> 40) * 0x1.0p-24
    }

    /// A uniform integer in `0..<bound` without modulo bias (Lemire's method).
    @inlinable
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "nextIndex(below:) needs a positive bound, got \(bound)")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// A standard normal draw (Box-Muller; uses two uniforms and discards the second value
    /// so that the stream position depends only on the number of draws).
    @inlinable
    public mutating func nextNormal() -> Double {
        var u1 = nextUniform()
        if u1 < Double.leastNormalMagnitude { u1 = Double.leastNormalMagnitude }
        let u2 = nextUniform()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func _log(_ x: Double) -> Double { Glibc.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
@usableFromInline func _log(_ x: Double) -> Double { Darwin.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
