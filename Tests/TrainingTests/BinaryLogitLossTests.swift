import Testing
import Tensors
@testable import Training

/// Binary crossentropy from logits computes exp(−|z|) once per scalar and takes the sigmoid
/// from it; before, it called exp up to three times (exp(−|z|), then exp(−z) or exp(z) twice).
/// The arguments are the same numbers, so value and gradient must keep their bits, NaNs too.
@Suite struct BinaryLogitLossTests {
    /// The previous loop, kept here as the reference (generic like LossMath's: NaN payloads
    /// pass through the generic conversions to Double the same way).
    static func reference<S: BLASScalar>(_ logits: [S], _ targets: [S]) -> (value: S, gradient: [S]) {
        let scale = 1 / S(logits.count)
        var total = 0.0
        var gradient = logits
        for i in logits.indices {
            let z = logits[i], t = targets[i]
            let per = max(z, 0) - z * t + S.logarithmOnePlus(S.exponential(-abs(z)))
            total += Double(per)
            let sig = z >= 0 ? 1 / (1 + S.exponential(-z)) : S.exponential(z) / (1 + S.exponential(z))
            gradient[i] = (sig - t) * scale
        }
        return (S(total / Double(logits.count)), gradient)
    }

    /// Finite logits (value and gradient bit for bit) and logits with infinities and NaNs
    /// (every gradient bit for bit, NaN payloads included; the value is NaN, whose payload
    /// depends on how the summing loop was compiled, so only that is compared).
    @Test(arguments: [false, true])
    func oneExponentialPerScalarGivesThePreviousBits(withNonFinite: Bool) throws {
        var rng = SplitMix64(seed: 11)
        var logits: [Float] = [0, -0, 1e-30, -1e-30, 88, -88, 89, -104, 200, -200, 17, -17, 0x1p-149, -0x1p-149]
        for _ in 0..<4000 { logits.append(Float(rng.nextNormal() * 12)) }
        if withNonFinite {
            logits += [.infinity, -.infinity, .nan, -.nan, Float(bitPattern: 0x7fc0_1234), Float(bitPattern: 0xffc0_4321)]
            for _ in 0..<2000 { logits.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        }
        let targets = logits.indices.map { Float($0 % 3 == 0 ? 1 : 0) }
        let expected = Self.reference(logits, targets)
        let result = LossMath.binary(try Tensor(shape: [logits.count, 1], scalars: logits),
                                     try Tensor(shape: [logits.count, 1], scalars: targets), fromLogits: true)
        if withNonFinite {
            #expect(result.value.isNaN && expected.value.isNaN)
        } else {
            #expect(result.value.bitPattern == expected.value.bitPattern)
        }
        let differing = logits.indices.filter { result.gradient.scalars[$0].bitPattern != expected.gradient[$0].bitPattern }
        #expect(differing.isEmpty, "first logits that differ: \(differing.prefix(5).map { logits[$0] })")
    }
}
