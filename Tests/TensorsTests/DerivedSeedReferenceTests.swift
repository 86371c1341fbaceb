import Testing
@testable import Tensors

/// `derivedSeed` against values computed outside Swift, so a change to its constants or its
/// mixing (deterministic, but a different order for every seeded pipeline) fails here.
/// Origin: the documented formula in Python 3 integers mod 2^64 (scripts/derived_seed_reference.py):
/// `v = mix(seed ^ 0x5851F42D4C957F2D)`, then for each label `v = mix(v ^ mix(label + 0x9E3779B97F4A7C15))`,
/// with SplitMix64's published `mix`.
@Suite struct DerivedSeedReferenceTests {
    @Test(arguments: [
        ([18], 0xB9EC_A138_93B4_E14D),
        ([18, 0], 0xB2B9_6916_82F1_51AD),
        ([18, 1], 0x4560_35A3_FB59_4C47),
        ([19, 0], 0x1F62_F821_FB8E_1CBE),
        ([18, 1, 2], 0xCD69_3EF1_E766_42AF),
        ([0, 0], 0xDD19_F061_D86A_B4EB),
        ([UInt64.max, UInt64.max], 0x9EF6_F69C_C870_40D0),
    ] as [([UInt64], UInt64)])
    func derivedSeedMatchesTheReference(inputs: [UInt64], expected: UInt64) {
        let seed = inputs[0], labels = Array(inputs.dropFirst())
        let got: UInt64
        switch labels.count {
        case 0: got = SplitMix64.derivedSeed(seed)
        case 1: got = SplitMix64.derivedSeed(seed, labels[0])
        default: got = SplitMix64.derivedSeed(seed, labels[0], labels[1])
        }
        #expect(got == expected, "derivedSeed\(inputs) = 0x\(String(got, radix: 16))")
    }

    @Test func aDerivedGeneratorStartsFromTheDerivedSeed() {
        var rng = SplitMix64(seed: 18).derived(3)
        #expect(rng.next() == 0x9B0C_B58A_4346_58B8)
    }
}
