import Foundation

/// The verdict of `batchwise-bench soak`: resident memory from the first sample after warm-up
/// to the last, against a growth limit.
///
/// ```swift
/// let report = SoakReport(samples: recorder.samples, warmupSeconds: 60, limitPercent: 5,
///                         checkpointEvery: 500, checkpointFilesKept: 3, lastCheckpointStep: 90_000)
/// print(report.passed ? "PASS" : "FAIL", report.growthPercent)
/// ```
struct SoakReport: Codable {
    var samples: [SoakRecorder.Sample]
    var warmupSeconds: Double
    var limitPercent: Double
    var checkpointEvery: Int
    var checkpointFilesKept: Int
    var lastCheckpointStep: Int?
    var seconds: Double
    var steps: Int
    var checkpointsSaved: Int
    var baselineMiB: Double
    var finalMiB: Double
    var peakMiB: Double
    var growthPercent: Double
    var verdict: String

    var passed: Bool { verdict == "PASS" }

    init(samples: [SoakRecorder.Sample], warmupSeconds: Double, limitPercent: Double, checkpointEvery: Int,
         checkpointFilesKept: Int, lastCheckpointStep: Int?) {
        self.samples = samples
        self.warmupSeconds = warmupSeconds
        self.limitPercent = limitPercent
        self.checkpointEvery = checkpointEvery
        self.checkpointFilesKept = checkpointFilesKept
        self.lastCheckpointStep = lastCheckpointStep
        let last = samples.last
        seconds = last?.seconds ?? 0
        steps = last?.step ?? 0
        checkpointsSaved = steps / Swift.max(1, checkpointEvery)
        // The baseline is the first sample taken after warm-up (allocator pools, the shuffle
        // buffer and the first checkpoint's HDF5 caches are all in place by then).
        let baseline = samples.first { $0.seconds >= warmupSeconds } ?? last
        baselineMiB = baseline?.residentMiB ?? 0
        finalMiB = last?.residentMiB ?? 0
        peakMiB = samples.map(\.residentMiB).max() ?? 0
        growthPercent = baselineMiB > 0 ? (finalMiB - baselineMiB) / baselineMiB * 100 : 0
        let measured = baselineMiB > 0 && (baseline?.seconds ?? 0) < seconds
        verdict = measured && growthPercent <= limitPercent ? "PASS" : "FAIL"
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    func text() -> String {
        var lines = [String(format: "soak: %.0f s, %d steps, a checkpoint every %d steps (%d saved, %d kept, newest reloads at step %@)",
                            seconds, steps, checkpointEvery, checkpointsSaved, checkpointFilesKept,
                            lastCheckpointStep.map(String.init) ?? "-")]
        lines.append("   seconds      step   resident MiB  threads")
        for sample in samples {
            lines.append(String(format: "%10.1f %9d %14.1f %8d", sample.seconds, sample.step, sample.residentMiB, sample.threads))
        }
        lines.append(String(format: "resident after %.0f s warm-up %.1f MiB, at the end %.1f MiB, peak %.1f MiB: growth %+.2f%% (limit %.0f%%) %@",
                            warmupSeconds, baselineMiB, finalMiB, peakMiB, growthPercent, limitPercent, verdict))
        return lines.joined(separator: "\n")
    }
}
