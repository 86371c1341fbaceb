import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints

@Suite struct NativeCheckpointDirectoryTests {
    private func snapshot(globalStep: Int) throws -> TrainingSnapshot {
        TrainingSnapshot(model: try NativeFixtures.model(), optimizerState: OptimizerState(), iteratorState: nil,
                         epoch: 0, stepInEpoch: globalStep, globalStep: globalStep, history: History())
    }

    private func contents(_ folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    @Test func keepsTheLastKAndLeavesNoTemporaryFiles() throws {
        let folder = try NativeFixtures.folder()
        let directory = try CheckpointDirectory(url: folder, keepLast: 3, optimizer: .sgd(learningRate: 0.1, momentum: 0, nesterov: false))
        for step in [5, 10, 15, 20, 100] { try directory.save(try snapshot(globalStep: step)) }
        #expect(try contents(folder) == ["ckpt-100.h5", "ckpt-15.h5", "ckpt-20.h5"])
        #expect(try directory.checkpoints().map(\.globalStep) == [15, 20, 100])
        #expect(directory.latest?.lastPathComponent == "ckpt-100.h5")
    }

    @Test func staleTemporariesOfDeadWritersAreRemovedButLiveOnesKept() throws {
        let folder = try NativeFixtures.folder()
        // pid_max is at most 2^22 on Linux, so this writer cannot exist.
        let dead = ".ckpt-5.h5.tmp-2147483646-abc"
        let live = ".ckpt-6.h5.tmp-\(getpid())-abc"
        for name in [dead, live] {
            _ = FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data([0]))
        }
        let directory = try CheckpointDirectory(url: folder, keepLast: 2, optimizer: .sgd(learningRate: 0.1, momentum: 0, nesterov: false))
        try directory.save(try snapshot(globalStep: 7))
        #expect(try contents(folder) == [live, "ckpt-7.h5"])
    }

    @Test func aSaveThatFailsMidwayLeavesThePreviousFileAndNoTemporary() throws {
        let folder = try NativeFixtures.folder()
        let url = folder.appendingPathComponent("run.h5")
        let config = OptimizerConfig.sgd(learningRate: 0.1, momentum: 0, nesterov: false)
        try NativeCheckpoint.save(try snapshot(globalStep: 1), optimizer: config, to: url)
        let before = try Data(contentsOf: url)

        var bad = try snapshot(globalStep: 2)
        bad.runningSums["a/b"] = RunningSum(total: 1, weight: 1)   // cannot be a link name: fails after the model is written
        #expect(throws: CheckpointError.self) { try NativeCheckpoint.save(bad, optimizer: config, to: url) }
        #expect(try contents(folder) == ["run.h5"])
        #expect(try Data(contentsOf: url) == before)
        #expect(try NativeCheckpoint.load(from: url, into: try NativeFixtures.model()).snapshot.globalStep == 1)
    }
}
