import Batchwise

extension InspectCommand {
    /// The `"model"` member of `inspect --json` for a model file or checkpoint: the summary's
    /// table as data, shapes as Keras prints them with `null` for the batch axis.
    ///
    /// ```text
    /// {"name": "sequential", "input_shape": [null, 8, 8, 1], "layers": [{"name": "conv2d", "class_name": "Conv2D",
    ///  "output_shape": [null, 8, 8, 4], "params": 40}, ...], "total_params": 419, "trainable_params": 411, "non_trainable_params": 8}
    /// ```
    static func modelJSON(_ model: Sequential) -> String {
        func shape(_ dimensions: [Int]) -> String {
            JSONText.array(["null"] + dimensions.map(String.init), indent: nil, depth: 0)
        }
        let layers = model.layerSummaries.map { row in
            JSONText.object([("name", JSONText.quote(row.name)), ("class_name", JSONText.quote(row.typeName)),
                             ("output_shape", shape(row.outputShape)), ("params", String(row.parameterCount))],
                            indent: nil, depth: 0)
        }
        let counts = model.parameterCounts
        return JSONText.object([
            ("name", JSONText.quote(model.name)), ("input_shape", shape(model.inputShape)),
            ("layers", JSONText.array(layers, indent: nil, depth: 0)), ("total_params", String(counts.total)),
            ("trainable_params", String(counts.trainable)), ("non_trainable_params", String(counts.nonTrainable)),
        ], indent: nil, depth: 0)
    }
}
