import Tensors

/// A seeded bijection on `0..<count` that maps any index in O(1) time and memory: the
/// permutation behind ``RandomAccessDataset/globalShuffle(seed:)``.
///
/// ## Construction
///
/// A *Feistel network* turns any function into a bijection. Take the smallest even bit width
/// `2h >= 2` with `2^(2h) >= count`, split an index `x` into its high half `L` and low half `R`
/// (`h` bits each), and apply `rounds` rounds of
///
///     (L, R) -> (R, L xor F_k(R))
///
/// where `F_k(R)` is the low `h` bits of `SplitMix64.mix(R xor key_k)`. Each round is
/// invertible (given `(R, L')`, `L = L' xor F_k(R)`), so the network permutes `0..<2^(2h)`
/// whatever `F` is; with random round functions, 4 rounds are already indistinguishable from
/// a random permutation (Luby and Rackoff, 1988); Batchwise runs 6, because its domains can be
/// as small as 4 elements. The keys are `SplitMix64.derivedSeed(seed, k)`, one per round.
///
/// `2^(2h)` can be up to 4 times `count`, so *cycle-walking* (Black and Rogaway, 2002) restricts
/// the network to `0..<count`: apply it again while the result is `>= count`. Following a cycle
/// of a permutation of the larger set from a point inside `0..<count` always comes back into it,
/// so this is a bijection of `0..<count`; the expected number of applications is
/// `2^(2h) / count < 4`, so a lookup is O(1) expected work.
///
/// ```swift
/// let permutation = FeistelPermutation(count: 10, seed: 42)
/// (0..<10).map { permutation[$0] }       // each of 0..<10 exactly once
/// ```
struct FeistelPermutation: Sendable {
    /// The size of the permuted range.
    let count: Int
    /// Bits per half of the Feistel network's domain.
    private let halfBits: UInt64
    private let mask: UInt64
    private let keys: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    /// The permutation of `0..<count` for `seed` (derive a per-epoch seed before calling).
    init(count: Int, seed: UInt64) {
        self.count = Swift.max(0, count)
        var bits: UInt64 = 1
        while bits < 32 && (UInt64(1) << (2 * bits)) < UInt64(self.count) { bits += 1 }
        halfBits = bits
        mask = bits == 32 ? UInt64(UInt32.max) : (UInt64(1) << bits) - 1
        let k = { (round: UInt64) in SplitMix64.derivedSeed(seed, round) }
        keys = (k(0), k(1), k(2), k(3), k(4), k(5))
    }

    /// The image of `index` (which must be in `0..<count`).
    subscript(index: Int) -> Int {
        var x = UInt64(index)
        repeat { x = network(x) } while x >= UInt64(count)
        return Int(x)
    }

    /// The images of `indices` (each in `0..<count`), in order: `indices.map { self[$0] }`,
    /// computed four at a time, so that the four networks run side by side rather than one
    /// round after another, and only then the rare cycle-walking steps.
    func images(of indices: [Int]) -> [Int] {
        let total = indices.count, limit = UInt64(count)
        // Never ask for zero uninitialized capacity (it writes to the shared empty storage).
        guard total > 0 else { return [] }
        return [Int](unsafeUninitializedCapacity: total) { images, initialized in
            var k = 0
            while k + 4 <= total {
                var a = network(UInt64(indices[k])), b = network(UInt64(indices[k + 1]))
                var c = network(UInt64(indices[k + 2])), d = network(UInt64(indices[k + 3]))
                while a >= limit { a = network(a) }
                while b >= limit { b = network(b) }
                while c >= limit { c = network(c) }
                while d >= limit { d = network(d) }
                images[k] = Int(a)
                images[k + 1] = Int(b)
                images[k + 2] = Int(c)
                images[k + 3] = Int(d)
                k += 4
            }
            while k < total {
                images[k] = self[indices[k]]
                k += 1
            }
            initialized = total
        }
    }

    @inline(__always)
    private func network(_ x: UInt64) -> UInt64 {
        var left = (x >> halfBits) & mask, right = x & mask
        round(&left, &right, keys.0)
        round(&left, &right, keys.1)
        round(&left, &right, keys.2)
        round(&left, &right, keys.3)
        round(&left, &right, keys.4)
        round(&left, &right, keys.5)
        return (left << halfBits) | right
    }

    @inline(__always)
    private func round(_ left: inout UInt64, _ right: inout UInt64, _ key: UInt64) {
        let next = left ^ (SplitMix64.mix(right ^ key) & mask)
        left = right
        right = next
    }
}
