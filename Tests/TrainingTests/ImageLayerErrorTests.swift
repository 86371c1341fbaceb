import Testing
import Tensors
@testable import Training

/// Bad image inputs are typed errors naming the layer, the shapes and the fix.
@Suite struct ImageLayerErrorTests {
    func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch let error as TrainingError { return error.localizedDescription } catch { return "untyped \(error)" }
        return nil
    }

    @Test func aKernelLargerThanAValidPaddedInputNamesLayerShapesAndFix() throws {
        let text = message {
            _ = try Sequential(inputShape: [4, 4, 1], [Conv2D(filters: 2, kernelSize: Size2D(5, 3), name: "stem")])
        }
        let found = try #require(text)
        #expect(found.contains("'stem'") && found.contains("5x3") && found.contains("4x4") && found.contains("\"same\""), "\(found)")
        // Dilation makes a 3x3 kernel span 5x5.
        let dilated = try #require(message {
            _ = try Sequential(inputShape: [4, 6, 2], [Conv2D(filters: 1, kernelSize: Size2D(square: 3), dilationRate: Size2D(2, 2))])
        })
        #expect(dilated.contains("5x5 with dilation") && dilated.contains("4x6"), "\(dilated)")
        let pool = try #require(message {
            _ = try Sequential(inputShape: [2, 2, 1], [MaxPooling2D(poolSize: Size2D(square: 3), name: "pool")])
        })
        #expect(pool.contains("'pool'") && pool.contains("3x3") && pool.contains("2x2"), "\(pool)")
        // With "same" padding the same model builds.
        #expect(throws: Never.self) {
            try Sequential(inputShape: [4, 4, 1], [Conv2D(filters: 2, kernelSize: Size2D(5, 3), padding: .same)])
        }
    }

    @Test func aChannelMismatchNamesBothChannelCounts() throws {
        let model = try Sequential(inputShape: [5, 5, 3], [Conv2D(filters: 2, kernelSize: Size2D(square: 3), name: "rgb")])
        let text = try #require(message { _ = try model.layers[0](Tensor<Float>(zeros: [2, 5, 5, 1]), mode: .inference) })
        #expect(text.contains("'rgb'") && text.contains("[2, 5, 5, 1]") && text.contains("built for 3")
                && text.contains("feed images with 3 channels"), "\(text)")
        // Through the model: the first layer, both channel counts and the fix.
        let whole = try #require(message { _ = try model(Tensor<Float>(zeros: [2, 5, 5, 1]), mode: .inference) })
        #expect(whole.contains("'rgb'") && whole.contains("1 channels") && whole.contains("takes 3")
                && whole.contains("feed images with 3 channels or build the model with inputShape [5, 5, 1]"), "\(whole)")
        var conv = model.layers[0] as! Conv2D
        let kernel = try #require(message { try conv.setVariable("kernel", to: Tensor(zeros: [3, 3, 1, 2])) })
        #expect(kernel.contains("rgb/kernel") && kernel.contains("[3, 3, 3, 2]") && kernel.contains("[3, 3, 1, 2]"), "\(kernel)")
    }

    @Test func aRankTwoInputIntoConv2DSaysToReshapeFirst() throws {
        let text = try #require(message {
            _ = try Sequential(inputFeatures: 64, [Conv2D(filters: 4, kernelSize: Size2D(square: 3), name: "conv")])
        })
        #expect(text.contains("'conv'") && text.contains("Conv2D") && text.contains("[N, 64]") && text.contains("Reshape"), "\(text)")
        for layer: any Layer in [MaxPooling2D(), AveragePooling2D(), GlobalMaxPooling2D(), GlobalAveragePooling2D(),
                                 ZeroPadding2D(), DepthwiseConv2D(kernelSize: Size2D(square: 1))] {
            let refusal = try #require(message { _ = try Sequential(inputFeatures: 64, [layer]) }, "\(layer.typeName)")
            #expect(refusal.contains("[N, 64]") && refusal.contains("Reshape"), "\(refusal)")
        }
        // The fix works: a Reshape in front.
        let fixed = try Sequential(inputFeatures: 64, [Reshape(targetShape: [8, 8, 1]), Conv2D(filters: 4, kernelSize: Size2D(square: 3))])
        #expect(fixed.outputShape == [6, 6, 4])
    }

    @Test func optionsKerasRefusesAreRefused() throws {
        let both = try #require(message {
            _ = try Sequential(inputShape: [9, 9, 1], [Conv2D(filters: 1, kernelSize: Size2D(square: 3), strides: Size2D(2, 2),
                                                              dilationRate: Size2D(2, 2))])
        })
        #expect(both.contains("strides 2x2") && both.contains("dilation rate 2x2"), "\(both)")
        let zero = try #require(message {
            _ = try Sequential(inputShape: [9, 9, 1], [Conv2D(filters: 0, kernelSize: Size2D(square: 3))])
        })
        #expect(zero.contains("filters"), "\(zero)")
    }
}
