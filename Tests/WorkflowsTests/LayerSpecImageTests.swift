import Foundation
import Testing
import Training
import Workflows

/// Issue 18 item 4: the image items of `batchwise train --layers` and the `--inputs` shape (bad
/// image items are among the cases of `LayerSpecTests.aBadItemIsNamedWithItsPosition`).
@Suite struct LayerSpecImageTests {
    @Test func imageItemsParseIntoTypedValuesWithTheirOptions() throws {
        let specs = try LayerSpec.parse("conv2d:8:3x3:2:same:relu, conv2d:4:3, depthwise_conv2d:3x2:valid:multiplier=2:dilation=2, "
            + "max_pooling2d:2, average_pooling2d:3:2:same, global_average_pooling2d, global_max_pooling2d, "
            + "zero_padding2d:1, zero_padding2d:1x2, zero_padding2d:0x1x2x3, reshape:8x8x1, conv2d:2:3:dilation=2x1:tanh")
        #expect(specs == [
            .conv2d(filters: 8, window: .init(size: Size2D(3, 3), strides: Size2D(2, 2), padding: .same), activation: .relu),
            .conv2d(filters: 4, window: .init(size: Size2D(3, 3)), activation: .linear),
            .depthwiseConv2d(depthMultiplier: 2, window: .init(size: Size2D(3, 2), dilationRate: Size2D(2, 2)), activation: .linear),
            .maxPooling2d(.init(size: Size2D(2, 2))),
            .averagePooling2d(.init(size: Size2D(3, 3), strides: Size2D(2, 2), padding: .same)),
            .globalAveragePooling2d, .globalMaxPooling2d,
            .zeroPadding2d(top: 1, bottom: 1, left: 1, right: 1), .zeroPadding2d(top: 1, bottom: 1, left: 2, right: 2),
            .zeroPadding2d(top: 0, bottom: 1, left: 2, right: 3),
            .reshape(targetShape: [8, 8, 1]),
            .conv2d(filters: 2, window: .init(size: Size2D(3, 3), dilationRate: Size2D(2, 1)), activation: .tanh),
        ])
    }

    /// The layers an item makes carry its options: the model's output shapes follow Keras's
    /// arithmetic for them (and its Keras config names them).
    @Test func aSpecBuiltCNNHasTheShapesTheOptionsGive() throws {
        let specs = try LayerSpec.parse("reshape:8x8x1,zero_padding2d:1x0,conv2d:6:3x3:2:same:relu,batch_normalization,"
            + "depthwise_conv2d:2:valid:multiplier=2,max_pooling2d:2:1,average_pooling2d:2:same,global_max_pooling2d,dense:3:softmax")
        let model = try Sequential(inputFeatures: 64, specs.map { $0.makeLayer() }, seed: 4)
        var shapes: [[Int]] = []
        var shape = model.inputShape
        for layer in model.layers {
            shape = try layer.outputShape(forInput: shape)
            shapes.append(shape)
        }
        // 8x8 → pad rows → 10x8; conv 3x3 stride 2 same → 5x4x6; depthwise 2x2 valid x2 → 4x3x12;
        // max pool 2 stride 1 → 3x2; average pool 2 same (stride 2) → 2x1; global max → 12.
        #expect(shapes == [[8, 8, 1], [10, 8, 1], [5, 4, 6], [5, 4, 6], [4, 3, 12], [3, 2, 12], [2, 1, 12], [12], [3]])
        let conv = try #require(model.layers[2] as? Conv2D)
        #expect(conv.strides == Size2D(2, 2) && conv.padding == .same && conv.activation == .relu && conv.filters == 6)
        #expect((model.layers[4] as? DepthwiseConv2D)?.depthMultiplier == 2)
    }

    @Test func theInputShapeParsesAndABadOneNamesItself() throws {
        #expect(try LayerSpec.parseInputShape("8x8x1") == [8, 8, 1])
        #expect(try LayerSpec.parseInputShape("64") == [64])
        for bad in ["8x8x", "0", "8x-1", "", "eight"] {
            do {
                _ = try LayerSpec.parseInputShape(bad)
                Issue.record("'\(bad)' was accepted")
            } catch let WorkflowError.invalidSetting(_, setting, problem) {
                #expect(setting == .inputs && problem.contains("'\(bad)'") && problem.contains("8x8x1"), "\(problem)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }
}
