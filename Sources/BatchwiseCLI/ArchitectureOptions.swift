import ArgumentParser
import Batchwise
import Foundation
import Workflows

/// A model to train from scratch: `--layers SPEC --inputs SHAPE` (``LayerSpec``), parsed once into
/// typed layers when the arguments are read; a bad item is a usage error naming it and its
/// position. (A Keras architecture JSON comes through `--model config.json`.)
///
/// ```swift
/// @OptionGroup var architecture: ArchitectureOptions   // --layers "dense:8:relu,dense:1:sigmoid" --inputs 3
/// ```
struct ArchitectureOptions: TrainJobOptions {
    @Option(help: ArgumentHelp(
        "Train a new model with these layers (instead of --model/--resume), comma-separated: \(LayerSpec.grammar).",
        valueName: "spec"),
            transform: { try LayerSpec.parse($0) })
    var layers: [LayerSpec]?
    @Option(help: ArgumentHelp(
        "The shape of one input example of the model built from --layers: 64 for rows of 64 features, 8x8x1 for "
            + "8x8 images with one channel (the data's /x is then [rows, 8, 8, 1]).",
        valueName: "shape"),
            transform: { try LayerSpec.parseInputShape($0) })
    var inputs: [Int]?

    func apply(to job: inout TrainJob) {
        job.layers = layers
        job.inputShape = inputs
    }
}
