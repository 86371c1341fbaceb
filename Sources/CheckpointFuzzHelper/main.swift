import Checkpoints
import CProcessControl
import Foundation
import HDF5
import Training

// `CheckpointFuzzHelper MODEL.keras FILE...`: feeds each FILE to every reader a user can point
// at a file — the HDF5 tree description (`batchwise inspect`), the Keras loaders and the
// native checkpoint loader — and reports on stderr:
//
//     BEGIN <index>
//     END <index> inspect=threw:HDF5Error keras.load=loaded ...
//
// It exists so that the fuzz tests run libhdf5 in a child process: libhdf5 1.10 can crash on
// crafted files (see docs/RELIABILITY.md), and a crash must name its case, not end the suite.
// Anything else a reader prints between BEGIN and END (e.g. an HDF5-DIAG stack) is a failure.

func say(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

func outcome(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "loaded"
    } catch {
        return "threw:\(type(of: error))"
    }
}

// The fuzz tests start this helper with BATCHWISE_DIE_WITH_PARENT: if the test runner is
// killed while libhdf5 loops on a crafted file here, this process dies too.
_ = bw_honour_die_with_parent_request()

let arguments = Array(CommandLine.arguments.dropFirst())
guard let modelPath = arguments.first else {
    say("usage: CheckpointFuzzHelper MODEL.keras FILE...")
    exit(2)
}
let model: Sequential
do {
    model = try KerasModelFile.load(URL(fileURLWithPath: modelPath)).model
} catch {
    say("cannot load \(modelPath): \(error.localizedDescription)")
    exit(2)
}

for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let index = url.lastPathComponent.prefix { $0 != "." }
    say("BEGIN \(index)")
    var results: [String] = []
    if url.pathExtension == "json" {
        let text = String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self)
        results.append("config=" + outcome { _ = try KerasModelConfig.model(fromJSON: text, file: path) })
    } else {
        results.append("inspect=" + outcome {
            let file = try HDF5File.open(at: url, mode: .readOnly, locking: .bestEffort)
            defer { try? file.close() }
            _ = try file.treeDescription()
        })
        results.append("keras.load=" + outcome { _ = try KerasModelFile.load(url) })
        results.append("keras.loadWeights=" + outcome {
            var copy = model
            try KerasModelFile.loadWeights(url, into: &copy)
        })
        results.append("native.load=" + outcome { _ = try NativeCheckpoint.load(from: url) })
    }
    say("END \(index) " + results.joined(separator: " "))
}
