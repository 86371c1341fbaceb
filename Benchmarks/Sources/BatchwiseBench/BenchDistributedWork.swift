import Batchwise
import Distributed
import Foundation

/// `batchwise-bench distributed --work-rows N`: one process, no MPI, times the parts of
/// one rank's step at `N` rows of the BN-MLP, so that a rank's work at 128 rows can be compared
/// with one rank's at 256 without the other rank's scheduling in the figures, and so that two
/// such processes started side by side show what two busy cores do to each other (the machine's
/// ceiling for 2-rank scaling). Prints one JSON object of milliseconds per step: the thread's
/// CPU time and the wall time of the plain step's forward and backward pass
/// (`Sequential.trainingStep`), of Adam's update of all parameters, and of a whole
/// `DataParallelTrainer` step in a world of one in both modes (with `N / 32` micro-shards in
/// `ordered` mode, the micro-shards a rank holds at 256 rows over `256 / N` ranks).
enum DistributedWork {
    static func measure(rows: Int, steps: Int, part: String? = nil) throws -> [String: Double] {
        var rng = SplitMix64(seed: 1)
        let x = try Tensor(shape: [rows * 8, 784], scalars: (0..<(rows * 8 * 784)).map { _ in Float(rng.nextNormal()) })
        let y = Tensor((0..<(rows * 8)).map { _ in Float(rng.nextIndex(below: 10)) })
        var figures: [String: Double] = [:]
        func timed(_ name: String, _ body: (Int) throws -> Void) rethrows {
            if let part, !name.hasPrefix(part) { return }
            for step in 0..<5 { try body(step) }
            let (wall, cpu) = (DispatchTime.now().uptimeNanoseconds, Communicator.threadCPUSeconds())
            for step in 0..<steps { try body(step) }
            figures["\(name).cpu"] = (Communicator.threadCPUSeconds() - cpu) * 1e3 / Double(steps)
            figures["\(name).wall"] = Double(DispatchTime.now().uptimeNanoseconds - wall) / 1e6 / Double(steps)
        }
        // The plain step, its two parts timed apart.
        var model = try BenchDistributedCommand.model()
        var optimizer = Adam()
        let batches = try (0..<8).map { batch in
            (x: try x.rows((batch * rows)..<((batch + 1) * rows)), y: try y.rows((batch * rows)..<((batch + 1) * rows)))
        }
        var last = try model.trainingStep(x: batches[0].x, y: batches[0].y, loss: .sparseCategoricalCrossentropy)
        try timed("plain.forwardBackward") { step in
            last = try model.trainingStep(x: batches[step % 8].x, y: batches[step % 8].y, loss: .sparseCategoricalCrossentropy)
        }
        try timed("plain.adam") { _ in try optimizer.apply(last.gradients, to: &model) }
        try timed("plain.step") { step in
            let result = try model.trainingStep(x: batches[step % 8].x, y: batches[step % 8].y, loss: .sparseCategoricalCrossentropy)
            try model.apply(result.stateUpdate)
            try optimizer.apply(result.gradients, to: &model)
        }
        let world = try Communicator.world()
        let data = try Slices(x, y)
        for mode in ReductionMode.allCases {
            var trainer = try DataParallelTrainer(
                model: try BenchDistributedCommand.model(), optimizer: Adam(), loss: .sparseCategoricalCrossentropy,
                communicator: world, globalBatchSize: rows,
                microShardCount: max(1, rows * BenchDistributedCommand.microShards / BenchDistributedCommand.globalBatch),
                mode: mode)
            try timed("\(mode.rawValue).step") { step in _ = try trainer.step(data, epoch: 0, step: step % 8) }
        }
        return figures
    }
}
