import Foundation
import HDF5
import Tensors
import Training

/// Writes a ``/Training/TrainingSnapshot`` into an open (temporary) HDF5 file in the layout of
/// docs/checkpoint-format.md. Paths are built from Keras-style names, so `dense_1/kernel`
/// is stored at `/model/dense_1/kernel`.
///
/// ```swift
/// try HDF5File.atomicWrite(to: url) {
///     try NativeCheckpointWriter(file: $0, destination: url.path).write(snapshot, optimizer: config, architecture: nil)
/// }
/// ```
struct NativeCheckpointWriter {
    let file: HDF5File
    /// The path the checkpoint is published at, which errors name (`file` is a temporary
    /// that is gone by the time the caller sees the error); the file's own path by default.
    let destination: String

    init(file: HDF5File, destination: String? = nil) {
        self.file = file
        self.destination = destination ?? file.path
    }

    func write(_ snapshot: TrainingSnapshot, optimizer: OptimizerConfig, loss: Loss? = nil, architecture: String?,
               created: Date = Date()) throws {
        try writeMetadata(architecture: architecture, created: created)
        if let loss {
            try file.setAttribute("loss", loss.kerasName)
            try file.setAttribute("loss_from_logits", Int8(loss.fromLogits ? 1 : 0))
        }
        try writeModel(snapshot.model)
        try writeOptimizer(optimizer, state: snapshot.optimizerState)
        try writeProgress(snapshot)
        try writeCallbackStates(snapshot.callbackStates)
    }

    private func writeMetadata(architecture: String?, created: Date) throws {
        try file.setAttribute("format", NativeCheckpoint.formatName)
        try file.setAttribute("format_version", NativeCheckpoint.formatVersion)
        try file.setAttribute("batchwise_version", NativeCheckpoint.batchwiseVersion)
        try file.setAttribute("created", created.formatted(.iso8601))
        try file.setAttribute("bn_momentum_convention", NativeCheckpoint.batchNormMomentumConvention)
        try file.setAttribute("bn_variance_convention", NativeCheckpoint.batchNormVarianceConvention)
        if let architecture { try file.setAttribute("model_config", architecture) }
    }

    private func writeModel(_ model: Sequential, at root: String = "/model") throws {
        try file.createGroup(root)
        try file.setAttribute("name", model.name, on: root)
        try file.setAttribute("input_shape", model.inputShape.map(Int64.init), on: root)
        try file.setAttribute("input_features", Int64(model.inputFeatures), on: root)
        try file.setAttribute("layer_names", model.layers.map(\.name), on: root)
        for layer in model.layers {
            let group = "\(root)/\(layer.name)"
            try file.createGroup(group)
            try file.setAttribute("class_name", layer.typeName, on: group)
            try file.setAttribute("trainable", Int8(layer.isTrainable ? 1 : 0), on: group)
            for variable in layer.variables {
                try writeTensor(variable.value, to: "\(group)/\(variable.name)")
            }
            for (name, value) in layer.checkpointAttributes {
                switch value {
                case .double(let number): try file.setAttribute(name, number, on: group)
                case .unsigned(let integer): try file.setAttribute(name, integer, on: group)
                case .flag(let flag): try file.setAttribute(name, Int8(flag ? 1 : 0), on: group)
                }
            }
            if let state = layer.randomState { try file.setAttribute("rng_state", state, on: group) }
        }
    }

    private func writeOptimizer(_ config: OptimizerConfig, state: OptimizerState) throws {
        try file.createGroup("/optimizer")
        try OptimizerAttributes.write(config, iterations: state.iterations, to: file)
        try file.writeUnretained([state.iterations], shape: [], to: "/optimizer/iterations")
        try file.createGroup("/optimizer/slots")
        for key in state.slots.keys.sorted() {
            try writeTensor(state.slots[key]!, to: "/optimizer/slots/\(key)")
        }
    }

    private func writeProgress(_ snapshot: TrainingSnapshot) throws {
        try file.setAttribute("epoch", Int64(snapshot.epoch))
        try file.setAttribute("step_in_epoch", Int64(snapshot.stepInEpoch))
        try file.setAttribute("global_step", Int64(snapshot.globalStep))
        if let state = snapshot.iteratorState {
            try file.writeUnretained([UInt8](try state.encoded()), to: "/iterator_state")
            try file.setAttribute("encoding", "IteratorState JSON (UTF-8 bytes)", on: "/iterator_state")
        }
        if !snapshot.positionSettings.isEmpty {
            try file.createGroup("/position_settings")
            for key in snapshot.positionSettings.keys.sorted() {
                try file.setAttribute(key, snapshot.positionSettings[key]!, on: "/position_settings")
            }
        }
        try file.createGroup("/history/logs")
        try file.writeUnretained(snapshot.history.epochs.map(Int64.init), to: "/history/epochs")
        for name in snapshot.history.names {
            try checkLogName(name, in: "/history/logs")
            try file.writeUnretained(snapshot.history[name] ?? [], to: "/history/logs/\(name)")
        }
        try file.createGroup("/running_sums")
        for name in snapshot.runningSums.keys.sorted() {
            try checkLogName(name, in: "/running_sums")
            let sum = snapshot.runningSums[name]!
            try file.writeUnretained([sum.total, sum.weight], to: "/running_sums/\(name)")
        }
    }

    /// `/callbacks/<name>`: the callback's values as float64 attributes, its settings as string
    /// attributes, its model (if it keeps one) laid out as `/model` is.
    private func writeCallbackStates(_ states: [String: CallbackState]) throws {
        guard !states.isEmpty else { return }
        try file.createGroup("/callbacks")
        for name in states.keys.sorted() {
            try checkLogName(name, in: "/callbacks")
            let group = "/callbacks/\(name)", state = states[name]!
            try file.createGroup(group)
            for key in state.values.keys.sorted() { try file.setAttribute(key, state.values[key]!, on: group) }
            for key in state.settings.keys.sorted() {
                guard state.values[key] == nil else {
                    throw CheckpointError.invalidCheckpoint(file: destination, object: group,
                                                            reason: "'\(key)' is both a value and a setting of the callback state")
                }
                try file.setAttribute(key, state.settings[key]!, on: group)
            }
            if let model = state.model { try writeModel(model, at: "\(group)/model") }
        }
    }

    /// Log names become HDF5 link names, so they must be one non-empty path component.
    private func checkLogName(_ name: String, in group: String) throws {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw CheckpointError.invalidCheckpoint(file: destination, object: group,
                                                    reason: "log name '\(name)' cannot be an HDF5 link name")
        }
    }

    private func writeTensor(_ tensor: Tensor<Float>, to path: String) throws {
        try file.writeUnretained(tensor.scalars, shape: tensor.shape, to: path)
    }
}
