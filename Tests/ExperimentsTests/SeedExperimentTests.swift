import Foundation
import Testing
@testable import Experiments

@Suite struct SeedExperimentTests {
    private static func shortConfiguration(seed: UInt64 = 18) -> SeedExperiment.Configuration {
        var config = SeedExperiment.Configuration(seed: seed)
        config.epochs = 3
        config.stepsPerEpoch = 100
        config.trainingRows = 2_000
        config.shuffleBuffer = 2_000
        return config
    }

    @Test func theSameSeedReproducesWeightsHistoryAndAccuraciesExactly() throws {
        let a = try SeedExperiment(configuration: Self.shortConfiguration()).run(progress: .quiet)
        let b = try SeedExperiment(configuration: Self.shortConfiguration()).run(progress: .quiet)
        let c = try SeedExperiment(configuration: Self.shortConfiguration(seed: 19)).run(progress: .quiet)
        #expect(a.weightsSHA256 == b.weightsSHA256)
        #expect(a.history == b.history)
        #expect(a.sweep == b.sweep)
        #expect(a.weightsSHA256 != c.weightsSHA256)
    }

    @Test func inferenceModeFailsOnShiftedDataWhileBatchAwareModesRecover() throws {
        let result = try SeedExperiment(configuration: Self.shortConfiguration()).run(progress: .quiet)
        let unshifted = try #require(result.sweep.first { $0.shift == 0 })
        let shifted = try #require(result.sweep.first { $0.shift == 3 })
        // The net learned x > 0: right on N(0,1), about chance on N(3,1) where every x > 0.
        #expect(unshifted.accuracies.inference > 0.9)
        #expect(shifted.accuracies.inference < 0.7)
        #expect(shifted.accuracies.fullBatchStatistics > shifted.accuracies.inference + 0.2)
        #expect(shifted.accuracies.recalibrated > shifted.accuracies.inference + 0.2)
    }

    @Test func jsonHasEveryDocumentedKey() throws {
        var config = Self.shortConfiguration()
        config.epochs = 1
        config.stepsPerEpoch = 10
        let result = try SeedExperiment(configuration: config).run(progress: .quiet)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.json().utf8)) as? [String: Any])
        for key in ["inference_accuracy", "batch_statistics_accuracy", "full_batch_statistics_accuracy",
                    "recalibrated_accuracy", "sweep", "history", "seed", "weights_sha256"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect((object["sweep"] as? [[String: Any]])?.count == config.sweepShifts.count)
        #expect((object["weights_sha256"] as? String)?.count == 64)
        #expect(object["seed"] as? Int == 18)
        try Self.expectConsistentValues(object, result: result, config: config)
        let svg = result.svg()
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 4 + result.history.names.count)
        #expect(result.table().contains("re-calibrated"))
    }

    /// The JSON's values, not just its keys: they are the run's own, every accuracy is a count
    /// of correct test rows out of `testRows`, the sweep follows the configured shifts, and the
    /// history has one finite value per epoch for every metric.
    static func expectConsistentValues(_ object: [String: Any], result: SeedExperiment.Result,
                                       config: SeedExperiment.Configuration) throws {
        #expect(object["epochs"] as? Int == config.epochs)
        #expect(object["steps_per_epoch"] as? Int == config.stepsPerEpoch)
        #expect(object["batch_size"] as? Int == config.batchSize)
        #expect(object["shift"] as? Double == config.shift)
        let digest = try #require(object["weights_sha256"] as? String)
        #expect(digest == result.weightsSHA256 && digest.allSatisfy { "0123456789abcdef".contains($0) })
        func expectAccuracy(_ value: Any?, _ what: String) {
            guard let accuracy = value as? Double else { Issue.record("\(what): \(String(describing: value))"); return }
            let correct = accuracy * Double(config.testRows)
            #expect((0...1).contains(accuracy) && abs(correct - correct.rounded()) < 1e-9,
                    "\(what) = \(accuracy) is not a count out of \(config.testRows)")
        }
        let modes = [("inference", result.accuracies.inference), ("batch_statistics", result.accuracies.batchStatistics),
                     ("full_batch_statistics", result.accuracies.fullBatchStatistics),
                     ("recalibrated", result.accuracies.recalibrated)]
        for (mode, value) in modes {
            expectAccuracy(object["\(mode)_accuracy"], "\(mode)_accuracy")
            #expect(object["\(mode)_accuracy"] as? Double == value)
        }
        let sweep = try #require(object["sweep"] as? [[String: Any]])
        #expect(sweep.compactMap { $0["shift"] as? Double } == config.sweepShifts)
        for (row, expected) in zip(sweep, result.sweep) {
            for (mode, _) in modes { expectAccuracy(row[mode], "sweep \(expected.shift) \(mode)") }
            #expect(row["inference"] as? Double == expected.accuracies.inference)
        }
        let history = try #require(object["history"] as? [String: [Double]])
        #expect(Set(history.keys) == Set(result.history.names) && !history.isEmpty)
        for (name, values) in history {
            #expect(values.count == config.epochs && values.allSatisfy(\.isFinite), "\(name): \(values)")
            if name.contains("loss") { #expect(values.allSatisfy { $0 > 0 }, "\(name): \(values)") }
            if name.contains("accuracy") { #expect(values.allSatisfy { (0...1).contains($0) }, "\(name): \(values)") }
        }
    }
}
