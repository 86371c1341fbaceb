import Testing
import Tensors
@testable import Training

/// `LayerGradients.reusableBuffer(_:)` hands each of last pass's gradients out once, by name,
/// whichever order a layer asks in (the last one is taken without shifting the others).
@Suite struct LayerGradientsSpareTests {
    private func previousPass() -> LayerGradients {
        var previous = LayerGradients()
        previous["kernel"] = Tensor([1, 2])
        previous["bias"] = Tensor([3])
        previous["extra"] = Tensor([4, 5, 6])
        return previous
    }

    @Test(arguments: [["kernel", "bias", "extra"], ["extra", "bias", "kernel"], ["bias", "extra", "kernel"],
                      ["extra", "kernel", "bias"]])
    func eachSpareIsHandedOutOnceByName(_ order: [String]) {
        let expected: [String: [Float]] = ["kernel": [1, 2], "bias": [3], "extra": [4, 5, 6]]
        // The spares are the gradients the previous pass stored.
        var pass = LayerGradients(reusing: previousPass())
        for name in order {
            #expect(pass.reusableBuffer(name)?.scalars == expected[name], "\(name) in \(order)")
            #expect(pass.reusableBuffer(name) == nil, "\(name) handed out twice")
        }
        #expect(pass.reusableBuffer("kernel") == nil)
    }
}
