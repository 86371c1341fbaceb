import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

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

    /// Reading a folder needs no optimizer configuration (issue 13, item 11).
    @Test func aReaderListsFindsAndLoadsWithoutAnOptimizerConfig() throws {
        let folder = try NativeFixtures.folder()
        let adam = OptimizerConfig.adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
        let directory = try CheckpointDirectory(url: folder, keepLast: 3, optimizer: adam, loss: .binaryCrossentropy)
        for step in [5, 10, 100, 20] { try directory.save(try snapshot(globalStep: step)) }
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("ckpt-notes.txt").path, contents: Data())

        let reader = CheckpointDirectoryReader(url: folder)
        #expect(try reader.checkpoints().map(\.globalStep) == [10, 20, 100])
        #expect(try reader.checkpoints().map(\.url) == directory.checkpoints().map(\.url))
        #expect(try reader.latest()?.lastPathComponent == "ckpt-100.h5")
        let loaded = try #require(try reader.loadLatest())
        #expect(loaded.snapshot.globalStep == 100)
        #expect(loaded.optimizer == adam)
        #expect(loaded.loss == .binaryCrossentropy)
        #expect(try contents(folder) == ["ckpt-10.h5", "ckpt-100.h5", "ckpt-20.h5", "ckpt-notes.txt"])
    }

    @Test func aReaderOfAnEmptyFolderFindsNothingAndOfAMissingOneSaysWhich() throws {
        let folder = try NativeFixtures.folder()
        let reader = CheckpointDirectoryReader(url: folder)
        #expect(try reader.latest() == nil)
        #expect(try reader.loadLatest() == nil)

        let missing = folder.appendingPathComponent("no-such-run")
        let error = try #require(throws: CheckpointError.self) { try CheckpointDirectoryReader(url: missing).latest() }
        #expect(error.localizedDescription.contains(missing.path))
        #expect(!FileManager.default.fileExists(atPath: missing.path))   // reading creates nothing
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
