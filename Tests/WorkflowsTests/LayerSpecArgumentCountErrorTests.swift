import Testing
@testable import Workflows

/// `--layers` items of the image layers with the wrong number of arguments (a depthwise
/// convolution with no kernel, a zero padding given as several items): the same
/// `WorkflowError.invalidLayerSpec` as the other bad items, naming the item, its position and
/// the accepted forms. LayerSpecTests' table had no case for these two checks.
@Suite struct LayerSpecArgumentCountErrorTests {
    @Test("a depthwise convolution without a kernel, and a padding given as two arguments", arguments: [
        ("depthwise_conv2d", "depthwise_conv2d", 1, "expected depthwise_conv2d:KERNEL[:STRIDES][:same|valid][:ACTIVATION]"),
        ("flatten,zero_padding2d:1:2", "zero_padding2d:1:2", 2,
         "expected zero_padding2d:P, zero_padding2d:HxW or zero_padding2d:TxBxLxR"),
    ])
    func wrongArgumentCount(spec: String, item: String, position: Int, phrase: String) {
        LayerSpecTests().aBadItemIsNamedWithItsPosition(spec: spec, item: item, position: position, phrase: phrase)
    }
}
