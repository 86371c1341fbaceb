#!/usr/bin/env python3
"""Prints SplitMix64.derivedSeed reference values for Tests/TensorsTests/DerivedSeedReferenceTests.swift.

Independent of the Swift code: the documented formula in Python integers mod 2**64.
"""
M = (1 << 64) - 1


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def derived_seed(seed, *labels):
    v = mix(seed ^ 0x5851F42D4C957F2D)
    for label in labels:
        v = mix(v ^ mix((label + 0x9E3779B97F4A7C15) & M))
    return v


for inputs in [(18,), (18, 0), (18, 1), (19, 0), (18, 1, 2), (0, 0), (M, M)]:
    print(inputs, hex(derived_seed(*inputs)))
# The first draw of SplitMix64(seed: 18).derived(3): one golden-ratio step, then mix.
print("first draw of derived(3) from seed 18:", hex(mix((derived_seed(18, 3) + 0x9E3779B97F4A7C15) & M)))
