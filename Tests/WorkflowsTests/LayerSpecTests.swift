import Foundation
import Testing
import Training
import Workflows

/// Issue 17 item 5: the compact layer specification of `batchwise train --layers`, parsed once
/// into typed values; a bad item is a typed error naming it and its position.
@Suite struct LayerSpecTests {
    @Test func theIssuesSpecificationParsesIntoTypedLayers() throws {
        let specs = try LayerSpec.parse("batch_normalization,dense:8:sigmoid,batch_normalization,dense:1:sigmoid")
        #expect(specs == [.batchNormalization, .dense(units: 8, activation: .sigmoid), .batchNormalization,
                          .dense(units: 1, activation: .sigmoid)])
    }

    @Test func everyLayerKindParsesWithItsArguments() throws {
        let specs = try LayerSpec.parse(
            "flatten, dense:16, layer_normalization, group_normalization:4, relu, dropout:0.25, dense:4:tanh, activation:relu, dense:3, softmax")
        #expect(specs == [.flatten, .dense(units: 16, activation: .linear), .layerNormalization,
                          .groupNormalization(groups: 4), .relu, .dropout(rate: 0.25),
                          .dense(units: 4, activation: .tanh), .activation(.relu), .dense(units: 3, activation: .linear), .softmax])
        let model = try Sequential(inputFeatures: 5, specs.map { $0.makeLayer() }, seed: 1)
        #expect(model.layers.map { type(of: $0).kerasClassName ?? "" } == ["Flatten", "Dense", "LayerNormalization", "GroupNormalization", "ReLU", "Dropout", "Dense",
                                                        "Activation", "Dense", "Softmax"])
        #expect(model.outputShape == [3])
    }

    /// Each bad specification: the error names the whole text, the offending item and its 1-based position.
    @Test(arguments: [
        ("dense:8:sigmoid,dense:0", "dense:0", 2, "units '0' is not a positive integer"),
        ("dense:x", "dense:x", 1, "units 'x' is not a positive integer"),
        ("batch_normalization,conv3d:3", "conv3d:3", 2, "unknown layer 'conv3d'"),
        ("dense:4:swish", "dense:4:swish", 1, "unknown activation 'swish'"),
        ("dropout:1.5", "dropout:1.5", 1, "rate '1.5' is not a number in [0, 1)"),
        ("dropout", "dropout", 1, "expected dropout:RATE"),
        ("relu:2", "relu:2", 1, "expected relu without arguments"),
        ("dense:4,,dense:1", "", 2, "empty item"),
        ("dense:1:sigmoid:extra", "dense:1:sigmoid:extra", 1, "expected dense:UNITS or dense:UNITS:ACTIVATION"),
        ("", "", 1, "the specification names no layer"),
        ("dense:8,group_normalization:-2", "group_normalization:-2", 2, "groups '-2' is not a positive integer"),
        // Image items (issue 18 item 4).
        ("conv2d:0:3", "conv2d:0:3", 1, "filters '0' is not a positive integer"),
        ("dense:4,conv2d:8", "conv2d:8", 2, "expected conv2d:FILTERS:KERNEL"),
        ("conv2d:8:3x", "conv2d:8:3x", 1, "kernel '3x' is not positive integers separated by 'x'"),
        ("conv2d:8:3x3x3", "conv2d:8:3x3x3", 1, "kernel '3x3x3' has 3 sizes"),
        ("conv2d:8:3:same:valid", "conv2d:8:3:same:valid", 1, "padding given twice ('valid')"),
        ("conv2d:8:3:sideways", "conv2d:8:3:sideways", 1, "unknown option 'sideways'"),
        ("conv2d:8:3:multiplier=2", "conv2d:8:3:multiplier=2", 1, "unknown option 'multiplier=2'"),
        ("depthwise_conv2d:3:multiplier=0", "depthwise_conv2d:3:multiplier=0", 1, "multiplier '0' is not a positive integer"),
        ("max_pooling2d:2:relu", "max_pooling2d:2:relu", 1, "unknown option 'relu'"),
        ("average_pooling2d", "average_pooling2d", 1, "expected average_pooling2d:POOL"),
        ("global_max_pooling2d:2", "global_max_pooling2d:2", 1, "expected global_max_pooling2d without arguments"),
        ("zero_padding2d:1x2x3", "zero_padding2d:1x2x3", 1, "has 3 sizes; give 1 (P), 2 (HxW) or 4 (TxBxLxR)"),
        ("zero_padding2d:-1", "zero_padding2d:-1", 1, "padding '-1' is not non-negative integers"),
        ("flatten,reshape:8x0x1", "reshape:8x0x1", 2, "target shape '8x0x1' is not positive integers"),
        ("reshape", "reshape", 1, "expected reshape:D1xD2x"),
    ])
    func aBadItemIsNamedWithItsPosition(spec: String, item: String, position: Int, phrase: String) {
        do {
            _ = try LayerSpec.parse(spec)
            Issue.record("\(spec) was accepted")
        } catch let error as WorkflowError {
            guard case let .invalidLayerSpec(text, badItem, badPosition, problem) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(text == spec && badItem == item && badPosition == position)
            #expect(problem.contains(phrase), "\(problem)")
            #expect(error.localizedDescription.contains("item \(position) \"\(item)\""), "\(error.localizedDescription)")
        } catch {
            Issue.record("untyped \(error)")
        }
    }
}
