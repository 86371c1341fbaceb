/// `batchwise-bench distributed --slices K`: the 1-rank and the N-rank runs alternate K times
/// (1, N, 1, N, …), so that a burst of outside load falls on both sides rather than on one, and
/// the report combines the slices as if their steps had run back to back: samples/s from the
/// total time, the communication share from the total time in MPI calls over the total step
/// time, the fastest transfers the fastest of any slice. Each slice's own scaling and share are
/// kept for the per-slice range rows.
struct DistributedSlices {
    let one: [[String: Double]]
    let many: [[String: Double]]

    /// The slices' figures combined (keys as ``BenchDistributedCommand``'s rank figures).
    static func combine(_ slices: [[String: Double]]) -> [String: Double] {
        guard slices.count > 1 else { return slices.first ?? [:] }
        var combined: [String: Double] = [:]
        let keys = Set(slices.flatMap(\.keys))
        for key in keys {
            let values = slices.compactMap { $0[key] }
            guard !values.isEmpty else { continue }
            if key.hasSuffix(".samples") {
                // The same steps per slice: total samples over total time is the harmonic mean.
                combined[key] = Double(values.count) / values.reduce(0) { $0 + 1 / $1 }
            } else if key.lowercased().contains("fastest") || key.hasSuffix(".transfer") {
                combined[key] = values.min()
            } else if key == "load" || key.hasSuffix(".window") || key.hasPrefix("threads.") {
                combined[key] = values.max()
            } else {
                combined[key] = values.reduce(0, +) / Double(values.count)
            }
        }
        for mode in ["fast", "ordered"] {
            if let step = combined["\(mode).step"], let collectives = combined["\(mode).collectives"], step > 0 {
                combined["\(mode).share"] = 100 * collectives / step
            }
            if let work = combined["\(mode).work"], let transfer = combined["\(mode).transfer"] {
                combined["\(mode).idleStep"] = work + transfer
            }
        }
        return combined
    }

    /// The lowest and highest scaling of one slice's N-rank run over the 1-rank run just before it.
    func scalingRange(mode: String) -> (lowest: Double, highest: Double)? {
        let ratios = zip(one, many).compactMap { one, many -> Double? in
            guard let single = one["\(mode).samples"], let scaled = many["\(mode).samples"], single > 0 else { return nil }
            return scaled / single
        }
        guard let lowest = ratios.min(), let highest = ratios.max() else { return nil }
        return (lowest, highest)
    }

    /// The lowest and highest communication share of one slice's N-rank run.
    func shareRange(mode: String) -> (lowest: Double, highest: Double)? {
        let shares = many.compactMap { $0["\(mode).share"] }
        guard let lowest = shares.min(), let highest = shares.max() else { return nil }
        return (lowest, highest)
    }

    /// Slices whose N-rank run met both targets on its own (`scaling ≥ minimumScaling`, `share ≤ maximumShare`).
    func slicesMeeting(mode: String, minimumScaling: Double, maximumShare: Double) -> Int {
        zip(one, many).filter { one, many in
            guard let single = one["\(mode).samples"], let scaled = many["\(mode).samples"], let share = many["\(mode).share"],
                  single > 0 else { return false }
            return scaled / single >= minimumScaling && share <= maximumShare
        }.count
    }
}
