import CVectorKernels
import Testing
import Tensors
@testable import Training

/// The vector sigmoid (``SigmoidKernel``) against the C library's `expf` and the scalar loop it
/// stands in for, bit for bit.
@Suite struct SigmoidKernelTests {
    static let hasKernel = bw_cpu_has_avx2_fma() == 1

    /// On this machine's C library (glibc, FMA variant) the probe takes the kernel.
    @Test(.enabled(if: hasKernel, "the kernel needs AVX2 and FMA"))
    func theProbeTakesTheKernelHere() {
        #expect(SigmoidKernel.matchesScalarLoop)
    }

    /// A kernel whose lanes were mixed up is refused by the probe.
    @Test(.enabled(if: hasKernel, "the kernel needs AVX2 and FMA"))
    func theProbeRefusesResultsThatAreNotTheLibrarys() {
        #expect(!SigmoidKernel.probe(reversedLanes: true))
    }

    /// Every 256th float bit pattern from 0 up to 128 (both signs: the fast path, its edges
    /// and beyond), and 500,000 bit patterns drawn from the whole range: the kernel's `expf`
    /// and sigmoid have the library's bits wherever the probe took the kernel.
    @Test(.enabled(if: hasKernel && SigmoidKernel.matchesScalarLoop, "the kernel is not used here"))
    func theKernelHasTheLibrarysBitsAcrossTheRange() {
        var values: [Float] = []
        var pattern: UInt32 = 0
        while pattern < Float(128).bitPattern {
            values.append(Float(bitPattern: pattern))
            values.append(-Float(bitPattern: pattern))
            pattern += 256
        }
        var rng = SplitMix64(seed: 19)
        for _ in 0..<500_000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        var exponentials = [Float](repeating: 0, count: values.count)
        var sigmoids = [Float](repeating: 0, count: values.count)
        #expect(bw_expf_glibc(values, &exponentials, values.count) == 1)
        #expect(bw_sigmoid_glibc_expf(values, &sigmoids, values.count) == 1)
        var mismatches: [Float] = []
        for (index, x) in values.enumerated() {
            let expected = Float.exponential(x), sigmoid = SigmoidKernel.scalarSigmoid(x)
            let sameExp = expected.bitPattern == exponentials[index].bitPattern || (expected.isNaN && exponentials[index].isNaN)
            let sameSigmoid = sigmoid.bitPattern == sigmoids[index].bitPattern || (sigmoid.isNaN && sigmoids[index].isNaN)
            if !(sameExp && sameSigmoid), mismatches.count < 10 { mismatches.append(x) }
        }
        #expect(mismatches.isEmpty, "first values that differ: \(mismatches)")
    }

    /// `Activation.sigmoid` on tensors of every count up to 40 and the seed model's 288 (the
    /// kernel's padded last block at every length) gives the scalar loop's bits.
    @Test func theSigmoidActivationGivesTheScalarLoopsBits() throws {
        var rng = SplitMix64(seed: 7)
        for count in Array(1...40) + [288, 600] {
            let scalars = (0..<count).map { _ in Float(rng.nextNormal() * 6) }
            let tensor = try Tensor(shape: [count, 1], scalars: scalars)
            let out = Activation.sigmoid.applied(to: tensor)
            #expect(out.shape == [count, 1])
            #expect(out.scalars.map(\.bitPattern) == scalars.map { SigmoidKernel.scalarSigmoid($0).bitPattern }, "\(count)")
        }
    }
}
