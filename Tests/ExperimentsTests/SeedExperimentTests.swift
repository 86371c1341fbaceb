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
        let svg = result.svg()
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 4 + result.history.names.count)
        #expect(result.table().contains("re-calibrated"))
    }
}
