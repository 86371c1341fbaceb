import Testing
@testable import Tensors
@testable import Training

/// Dense's backward pass with the kernel gradient and the input gradient side by side on two
/// threads (`DenseMath.backwardSideBySide`): the side-by-side path is taken for the MLP's
/// shapes when the split is on, and its three gradients equal, bit for bit, those of the
/// ordinary path with every product unsplit on one thread.
@Suite struct DenseSideBySideTests {
    struct Shape: Sendable, CustomStringConvertible {
        let batch: Int, inputs: Int, units: Int
        var description: String { "batch \(batch), \(inputs) -> \(units)" }
    }

    static func operands(_ s: Shape, seed: UInt64) throws -> (x: Tensor<Float>, kernel: Tensor<Float>, dz: Tensor<Float>) {
        var rng = SplitMix64(seed: seed)
        func normal(_ count: Int) -> [Float] { (0..<count).map { _ in Float(rng.nextNormal()) } }
        return (try Tensor(shape: [s.batch, s.inputs], scalars: normal(s.batch * s.inputs)),
                try Tensor(shape: [s.inputs, s.units], scalars: normal(s.inputs * s.units)),
                try Tensor(shape: [s.batch, s.units], scalars: normal(s.batch * s.units)))
    }

    /// The three gradients' bits; `spare` is a kernel gradient of the right shape to write into.
    static func gradients(_ o: (x: Tensor<Float>, kernel: Tensor<Float>, dz: Tensor<Float>),
                          spare: Tensor<Float>?) -> [[UInt32]] {
        var kernelGradient = spare
        var biasGradient: Tensor<Float>?
        let dx = DenseMath.backward(x: o.x, kernel: o.kernel, dz: o.dz, kernelGradient: &kernelGradient,
                                    biasGradient: &biasGradient, wantsParameters: true, wantsBias: true, wantsInput: true)
        return [kernelGradient, biasGradient, dx].map { $0?.scalars.map(\.bitPattern) ?? [] }
    }

    @Test(arguments: [
        Shape(batch: 128, inputs: 256, units: 256),   // the MLP's second Dense
        Shape(batch: 128, inputs: 784, units: 256),   // its first, as a layer that is not first
        Shape(batch: 97, inputs: 301, units: 203),    // odd sizes, inner dimensions above 384 neither way
        Shape(batch: 500, inputs: 130, units: 420),   // a batch above OpenBLAS's block depth
    ])
    func sideBySideGradientsHaveTheOneThreadBits(_ shape: Shape) throws {
        let o = try Self.operands(shape, seed: 31)
        let sideBySide = BLASThreads.$forcedParts.withValue(2) { () -> [[UInt32]]? in
            var kernelGradient: Tensor<Float>?, biasGradient: Tensor<Float>?
            guard DenseMath.backwardSideBySide(x: o.x, kernel: o.kernel, dz: o.dz, kernelGradient: &kernelGradient,
                                               biasGradient: &biasGradient, wantsBias: true) != nil else { return nil }
            // Through `backward`, once into fresh storage and once into a reused kernel gradient.
            let fresh = Self.gradients(o, spare: nil)
            let reused = Self.gradients(o, spare: Tensor(repeating: .nan, shape: [shape.inputs, shape.units]))
            #expect(reused == fresh, "\(shape): writing into a reused kernel gradient changed the result")
            return fresh
        }
        #expect(sideBySide != nil, "\(shape) was not run side by side")
        let oneThread = BLASThreads.onOneThread { Self.gradients(o, spare: nil) }
        // (Counts of differing scalars per gradient: the arrays are too long to print.)
        let differing = zip(sideBySide ?? [], oneThread).map { s, u in s.count == u.count ? zip(s, u).filter { $0 != $1 }.count : -1 }
        #expect(sideBySide?.count == 3 && differing == [0, 0, 0], "\(shape): differing scalars \(differing)")
        // And the gradients are the products: one entry of each against Double dot products.
        let (i, j) = (shape.inputs - 1, shape.units / 2)
        let dk = (0..<shape.batch).reduce(0.0) { $0 + Double(o.x.scalars[$1 * shape.inputs + i]) * Double(o.dz.scalars[$1 * shape.units + j]) }
        #expect(abs(Double(Float(bitPattern: oneThread[0][i * shape.units + j])) - dk) < 1e-3 * Double(shape.batch).squareRoot())
        let dx = (0..<shape.units).reduce(0.0) { $0 + Double(o.dz.scalars[$1]) * Double(o.kernel.scalars[i * shape.units + $1]) }
        #expect(abs(Double(Float(bitPattern: oneThread[2][i])) - dx) < 1e-3 * Double(shape.units).squareRoot())
    }

    /// Products the split would not take (too small, or inside a one-thread scope) keep the
    /// ordinary path: side by side they could round differently from the split.
    @Test func smallProductsAndScopesKeepTheOrdinaryPath() throws {
        let small = try Self.operands(Shape(batch: 32, inputs: 64, units: 64), seed: 32)
        let large = try Self.operands(Shape(batch: 128, inputs: 256, units: 256), seed: 33)
        var kernelGradient: Tensor<Float>?, biasGradient: Tensor<Float>?
        BLASThreads.$forcedParts.withValue(2) {
            #expect(DenseMath.backwardSideBySide(x: small.x, kernel: small.kernel, dz: small.dz, kernelGradient: &kernelGradient,
                                                 biasGradient: &biasGradient, wantsBias: true) == nil)
        }
        BLASThreads.onOneThread {
            #expect(DenseMath.backwardSideBySide(x: large.x, kernel: large.kernel, dz: large.dz, kernelGradient: &kernelGradient,
                                                 biasGradient: &biasGradient, wantsBias: true) == nil)
        }
    }
}
