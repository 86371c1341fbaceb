/// How a sliding window (a convolution kernel or a pooling window) treats the border of its
/// input, as Keras's `padding` option.
///
/// With `.same` the output has `ceil(input / stride)` positions and the input is padded by
/// `max((output − 1) · stride + window − input, 0)` in total, `total / 2` before and the rest
/// after (Keras and TensorFlow put an odd extra pixel at the bottom and right). With
/// `.valid` there is no padding and the window must fit the input.
///
/// ```swift
/// let conv = Conv2D(filters: 8, kernelSize: Size2D(square: 3), strides: Size2D(2, 2), padding: .same)
/// ```
public enum Padding: String, Sendable, Hashable, CaseIterable {
    /// No padding: `output = floor((input − window) / stride) + 1`.
    case valid
    /// Zero padding (ignored cells for pooling) so that `output = ceil(input / stride)`.
    case same
}

/// The placement of a 2-D sliding window over an NHWC input: sizes, strides, dilation, the
/// padding before each axis and the output size. Shared by convolutions and pooling.
struct WindowGeometry: Hashable, Sendable {
    let inputHeight: Int, inputWidth: Int
    let windowHeight: Int, windowWidth: Int
    let strideHeight: Int, strideWidth: Int
    let dilationHeight: Int, dilationWidth: Int
    let padTop: Int, padLeft: Int
    let outputHeight: Int, outputWidth: Int

    /// Output positions per image.
    var outputPositions: Int { outputHeight * outputWidth }

    /// Places a window of `window` cells (before dilation) over an `input` image.
    /// - Throws: ``TrainingError/invalidArgument(layer:message:)`` naming `layer`, the input
    ///   and the (dilated) window when `.valid` leaves no output position, and saying how to fix it.
    init(input: (height: Int, width: Int), window: (height: Int, width: Int),
         strides: (height: Int, width: Int), dilation: (height: Int, width: Int) = (1, 1),
         padding: Padding, layer: String) throws(TrainingError) {
        inputHeight = input.height
        inputWidth = input.width
        windowHeight = window.height
        windowWidth = window.width
        strideHeight = strides.height
        strideWidth = strides.width
        dilationHeight = dilation.height
        dilationWidth = dilation.width
        let effective = (height: (window.height - 1) * dilation.height + 1, width: (window.width - 1) * dilation.width + 1)
        switch padding {
        case .valid:
            guard input.height >= effective.height, input.width >= effective.width else {
                let dilated = dilation == (1, 1) ? "" : " (\(effective.height)x\(effective.width) with dilation)"
                throw .invalidArgument(layer: layer, message:
                    "the \(window.height)x\(window.width) window\(dilated) is larger than the "
                    + "\(input.height)x\(input.width) input with padding \"valid\"; use padding \"same\", a smaller "
                    + "window, or a larger input")
            }
            outputHeight = (input.height - effective.height) / strides.height + 1
            outputWidth = (input.width - effective.width) / strides.width + 1
            padTop = 0
            padLeft = 0
        case .same:
            outputHeight = (input.height + strides.height - 1) / strides.height
            outputWidth = (input.width + strides.width - 1) / strides.width
            padTop = max((outputHeight - 1) * strides.height + effective.height - input.height, 0) / 2
            padLeft = max((outputWidth - 1) * strides.width + effective.width - input.width, 0) / 2
        }
    }

    /// The output size of a window over `input`, or the error ``init(input:window:strides:dilation:padding:layer:)`` throws.
    static func outputSize(input: (height: Int, width: Int), window: (height: Int, width: Int),
                           strides: (height: Int, width: Int), dilation: (height: Int, width: Int) = (1, 1),
                           padding: Padding, layer: String) throws(TrainingError) -> (height: Int, width: Int) {
        let geometry = try WindowGeometry(input: input, window: window, strides: strides, dilation: dilation,
                                          padding: padding, layer: layer)
        return (geometry.outputHeight, geometry.outputWidth)
    }

    /// The input row of window row `ki` at output row `oh` (may fall in the padding).
    @inline(__always) func inputRow(_ oh: Int, _ ki: Int) -> Int { oh * strideHeight - padTop + ki * dilationHeight }
    /// The input column of window column `kj` at output column `ow` (may fall in the padding).
    @inline(__always) func inputColumn(_ ow: Int, _ kj: Int) -> Int { ow * strideWidth - padLeft + kj * dilationWidth }

    /// Whether every window cell of every output position lies inside the input (no cell in the padding).
    var windowsLieInside: Bool {
        outputPositions > 0 && inputRow(0, 0) >= 0 && inputColumn(0, 0) >= 0
            && inputRow(outputHeight - 1, windowHeight - 1) < inputHeight && inputColumn(outputWidth - 1, windowWidth - 1) < inputWidth
    }
}
