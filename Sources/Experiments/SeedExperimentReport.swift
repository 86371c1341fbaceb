import Foundation
import HDF5
import Training

/// The three ways a ``SeedExperiment/Result`` is shown: a table for people, one JSON object
/// for programs, and an SVG chart of the shift sweep and the training curves.
extension SeedExperiment.Result {
    /// A readable report: configuration, final training logs, the four accuracies and the sweep.
    public func table() -> String {
        let c = configuration
        var out = "Seed experiment: seed \(c.seed), \(c.epochs) epochs x \(c.stepsPerEpoch) steps, "
            + "batch \(c.batchSize), fit \(String(format: "%.2f", fitSeconds)) s\n"
        if let last = history.epochs.indices.last {
            let logs = history.names.map { "\($0) \(String(format: "%.4f", history[$0]![last]))" }
            out += "final epoch: " + logs.joined(separator: ", ") + "\n"
        }
        out += "\nTest accuracy, x ~ N(\(c.shift), 1), label x > \(c.shift), \(c.testRows) rows:\n"
        let batchLabel = "batch statistics, batches of \(c.batchSize)"
        let rows = [("inference (moving statistics)", accuracies.inference),
                    (batchLabel, accuracies.batchStatistics),
                    ("batch statistics, whole test set", accuracies.fullBatchStatistics),
                    ("re-calibrated on \(c.recalibrationRows) unlabeled rows", accuracies.recalibrated)]
        for (name, value) in rows {
            out += "  " + name.padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: "%.2f", value) + "\n"
        }
        out += "\nShift sweep (accuracy):\n"
        out += "  shift  inference  batch(\(c.batchSize))  whole-set  re-calibrated\n"
        for row in sweep {
            let a = row.accuracies
            out += String(format: "  %5.1f  %9.2f  %9.2f  %9.2f  %13.2f\n",
                          row.shift, a.inference, a.batchStatistics, a.fullBatchStatistics, a.recalibrated)
        }
        out += "\nweights sha256: \(weightsSHA256)\n"
        return out
    }

    /// One JSON object with the keys documented in the README.
    public func json() throws -> String {
        func accuracyObject(_ a: SeedExperiment.Accuracies) -> [String: Double] {
            ["inference": a.inference, "batch_statistics": a.batchStatistics,
             "full_batch_statistics": a.fullBatchStatistics, "recalibrated": a.recalibrated]
        }
        let object: [String: Any] = [
            "seed": configuration.seed,
            "epochs": configuration.epochs,
            "steps_per_epoch": configuration.stepsPerEpoch,
            "batch_size": configuration.batchSize,
            "shift": configuration.shift,
            "inference_accuracy": accuracies.inference,
            "batch_statistics_accuracy": accuracies.batchStatistics,
            "full_batch_statistics_accuracy": accuracies.fullBatchStatistics,
            "recalibrated_accuracy": accuracies.recalibrated,
            "sweep": sweep.map { row -> [String: Any] in
                var entry: [String: Any] = accuracyObject(row.accuracies)
                entry["shift"] = row.shift
                return entry
            },
            "history": history.values,
            "weights_sha256": weightsSHA256,
            "fit_seconds": fitSeconds,
        ]
        return try JSONText.serialize(object)
    }

    /// Two charts side by side: accuracy against test shift (one line per mode), and the
    /// training and validation curves per epoch.
    public func svg() -> String {
        let lowest = sweep.flatMap { row in
            [row.accuracies.inference, row.accuracies.batchStatistics,
             row.accuracies.fullBatchStatistics, row.accuracies.recalibrated]
        }.min() ?? 0.4
        var sweepChart = LineChart(title: "Test accuracy vs shift of the test inputs",
                                   xLabel: "shift of x ~ N(shift, 1)", yLabel: "accuracy",
                                   yRange: Swift.min(0.4, (lowest * 10).rounded(.down) / 10)...1)
        let names = ["inference (moving)", "batch stats (\(configuration.batchSize))", "batch stats (all)",
                     "re-calibrated"]
        let pick: [(SeedExperiment.Accuracies) -> Double] = [
            { $0.inference }, { $0.batchStatistics }, { $0.fullBatchStatistics }, { $0.recalibrated },
        ]
        for (name, value) in zip(names, pick) {
            sweepChart.add(.init(name: name, points: sweep.map { ($0.shift, value($0.accuracies)) }))
        }
        var curves = LineChart(title: "Training curves", xLabel: "epoch", yLabel: "value")
        for name in history.names {
            let series = history[name]!
            curves.add(.init(name: name, points: series.indices.map { (Double($0 + 1), series[$0]) }))
        }
        let width = 1300.0, height = 440.0
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\">\n"
            + sweepChart.svg(width: 650, height: height)
            + curves.svg(width: 650, height: height, x: 650)
            + "</svg>\n"
    }
}
