import Foundation
import Datasets
import HDF5
import Tensors
import Training

/// Reads the layout ``NativeCheckpointWriter`` writes, comparing the file with the model
/// first so that a strict load reports every difference at once.
///
/// ```swift
/// let loaded = try NativeCheckpointReader(file: file).read(into: model, mode: .strict)
/// ```
struct NativeCheckpointReader {
    let file: HDF5File
    private var name: String { file.path }

    func read(into given: Sequential?, mode: NativeCheckpoint.LoadMode) throws -> LoadedCheckpoint {
        let format: String = try attribute("format", of: "/")
        guard format == NativeCheckpoint.formatName else {
            throw CheckpointError.invalidCheckpoint(file: name, object: "/", reason: "format is '\(format)', not '\(NativeCheckpoint.formatName)'")
        }
        let version: Int64 = try attribute("format_version", of: "/")
        guard version <= NativeCheckpoint.formatVersion else {
            throw CheckpointError.unsupported(file: name, what: "format_version \(version) is newer than \(NativeCheckpoint.formatVersion)")
        }
        let architecture: String? = try file.hasAttribute("model_config") ? try attribute("model_config", of: "/") : nil
        var model: Sequential
        if let given {
            model = given
        } else if let architecture {
            model = try KerasModelConfig.model(fromJSON: architecture, file: name)
        } else {
            throw CheckpointError.invalidCheckpoint(
                file: name, object: "/", reason: "no model_config attribute; pass the model to load into")
        }

        let found = try storedVariables()
        let input = try storedInput(formatVersion: version)
        let foundSlots = try storedTensors(under: "/optimizer/slots")
        let foundRNG = try storedRandomStates()
        var comparison = VariableComparison()
        comparison.compareInput(expected: model.inputShape, found: input)
        comparison.compare(expected: model.variables.map { ($0.name, $0.value.shape) }, found: found, what: "variable")
        let trainable = Dictionary(uniqueKeysWithValues: model.trainableVariables.map { ($0.name, $0.value.shape) })
        let optimizer = try optimizerConfig()
        comparison.compareSlots(found: foundSlots, trainable: trainable,
                                scalars: Set(optimizer.prototype.scalarSlots.map(\.name)))
        comparison.compareRandomStates(expected: Set(model.randomStates.keys), found: Set(foundRNG.keys))
        if mode == .strict, !comparison.differences.isEmpty {
            throw CheckpointError.variableMismatch(file: name, differences: comparison.differences)
        }

        for (variable, _) in model.variables.map({ ($0.name, $0.value.shape) }) where comparison.loadable.contains(variable) {
            try model.setVariable(variable, to: try tensor(at: "/model/\(variable)"))
        }
        for (layer, state) in foundRNG where model.randomStates[layer] != nil {
            try model.setRandomState(state, forLayer: layer)
        }
        try restoreBatchNormFlags(of: &model)
        var slots: [String: Tensor<Float>] = [:]
        for key in foundSlots.keys where comparison.loadableSlots.contains(key) {
            slots[key] = try tensor(at: "/optimizer/slots/\(key)")
        }
        let iterations = try file.read("/optimizer/iterations", as: Int64.self).values.first ?? 0
        var snapshot = TrainingSnapshot(
            model: model, optimizerState: OptimizerState(iterations: iterations, slots: slots),
            iteratorState: try iteratorState(), epoch: Int(try attribute("epoch", of: "/") as Int64),
            stepInEpoch: Int(try attribute("step_in_epoch", of: "/") as Int64),
            globalStep: Int(try attribute("global_step", of: "/") as Int64),
            history: try history(), runningSums: try runningSums(), optimizerIdentity: optimizer.identity)
        snapshot.callbackStates = try callbackStates(model: model)
        snapshot.positionSettings = try positionSettings()
        return LoadedCheckpoint(snapshot: snapshot, optimizer: optimizer, loss: try storedLoss(),
                                architecture: architecture,
                                batchwiseVersion: try attribute("batchwise_version", of: "/"),
                                created: try attribute("created", of: "/"),
                                skipped: mode == .partial ? comparison.differences : [])
    }

    /// `"<layer>/<variable>"` → (element type, shape) for every dataset under /model.
    private func storedVariables() throws -> [String: (HDF5ElementType, [Int])] {
        guard try file.exists("/model") else {
            throw CheckpointError.invalidCheckpoint(file: name, object: "/model", reason: "missing group")
        }
        return try storedTensors(under: "/model")
    }

    /// The input the checkpoint's model was saved for: `/model@input_shape` (required from
    /// format_version 2, and then `input_features` must be its product), or in a version 1 file
    /// only the width `input_features`.
    /// - Throws: ``CheckpointError/invalidCheckpoint(file:object:reason:)`` naming the file,
    ///   `/model` and the attribute when one is missing, of another type or not positive sizes.
    private func storedInput(formatVersion: Int64) throws -> VariableComparison.StoredInput {
        func malformed(_ attribute: String, _ problem: String) -> CheckpointError {
            .invalidCheckpoint(file: name, object: "/model", reason: "attribute '\(attribute)' \(problem)")
        }
        let features: Int64? = try file.hasAttribute("input_features", of: "/model")
            ? try attribute("input_features", of: "/model") : nil
        if let features, features <= 0 || features > Int64(Int32.max) {
            throw malformed("input_features", "must be a positive number of input values, found \(features)")
        }
        guard try file.hasAttribute("input_shape", of: "/model") else {
            guard formatVersion < 2 else {
                throw malformed("input_shape", "is missing (format_version \(formatVersion) files record the shape of one input example)")
            }
            guard let features else { throw malformed("input_features", "is missing (a format_version 1 file records the input width)") }
            return .features(Int(features))
        }
        let stored: [Int64] = try attribute("input_shape", of: "/model")
        guard !stored.isEmpty, stored.count <= 8, stored.allSatisfy({ $0 > 0 && $0 <= Int64(Int32.max) }),
              stored.reduce(1.0, { $0 * Double($1) }) <= Double(Int32.max) else {
            throw malformed("input_shape", "must list 1 to 8 positive sizes (the shape of one input example, e.g. [8, 8, 1]), found \(stored)")
        }
        let shape = stored.map { Int($0) }
        if let features, Int(features) != shape.reduce(1, *) {
            throw malformed("input_features", "is \(features), but input_shape \(shape) holds \(shape.reduce(1, *)) values")
        }
        return .shape(shape)
    }

    /// Every dataset below `root`, keyed by its path relative to `root`.
    private func storedTensors(under root: String) throws -> [String: (HDF5ElementType, [Int])] {
        var out: [String: (HDF5ElementType, [Int])] = [:]
        guard try file.exists(root) else { return out }
        func walk(_ relative: String) throws {
            for child in try file.children(of: relative.isEmpty ? root : "\(root)/\(relative)") {
                let path = relative.isEmpty ? child.name : "\(relative)/\(child.name)"
                switch child.kind {
                case .group: try walk(path)
                case .dataset:
                    let dataset = try file.dataset(at: "\(root)/\(path)")
                    out[path] = (dataset.elementType, try dataset.shape)
                    try dataset.close()
                default: break
                }
            }
        }
        try walk("")
        return out
    }

    private func storedRandomStates() throws -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for child in try file.children(of: "/model") where child.kind == .group {
            let group = "/model/\(child.name)"
            if try file.hasAttribute("rng_state", of: group) {
                out[child.name] = try attribute("rng_state", of: group)
            }
        }
        return out
    }

    /// Sets each BatchNormalization's `synchronized` flag from its group's attribute, which
    /// files written before the flag was stored lack (the model's own flag then stays).
    private func restoreBatchNormFlags(of model: inout Sequential) throws {
        for layer in model.layers where layer is BatchNormalization {
            let group = "/model/\(layer.name)"
            guard try file.exists(group), try file.hasAttribute("synchronized", of: group) else { continue }
            let stored: Int8 = try attribute("synchronized", of: group)
            guard stored == 0 || stored == 1 else {
                throw CheckpointError.invalidCheckpoint(file: name, object: group, reason: "attribute 'synchronized' is \(stored), not 0 or 1")
            }
            try model.updateLayer(named: layer.name, as: BatchNormalization.self) { $0.synchronized = stored == 1 }
        }
    }

    private func tensor(at path: String) throws -> Tensor<Float> {
        let array = try file.read(path, as: Float.self)
        do {
            return try Tensor(shape: array.shape, scalars: array.values)
        } catch {
            throw CheckpointError.invalidCheckpoint(file: name, object: path, reason: "\(error)")
        }
    }

    private func iteratorState() throws -> IteratorState? {
        guard try file.exists("/iterator_state") else { return nil }
        let bytes = try file.read("/iterator_state", as: UInt8.self).values
        do {
            return try IteratorState(encoded: Data(bytes))
        } catch {
            throw CheckpointError.invalidCheckpoint(file: name, object: "/iterator_state", reason: error.localizedDescription)
        }
    }

    /// `/position_settings`' string attributes (absent in checkpoints of `Trainer.fit` and in
    /// those written before data-parallel training recorded its settings).
    private func positionSettings() throws -> [String: String] {
        let group = "/position_settings"
        guard try file.exists(group) else { return [:] }
        var settings: [String: String] = [:]
        for key in try file.attributeNames(of: group) {
            guard try file.attributeInfo(key, of: group).elementType == .string else {
                throw CheckpointError.invalidCheckpoint(file: name, object: "\(group)/\(key)", reason: "a position setting must be a string attribute")
            }
            settings[key] = try attribute(key, of: group) as String
        }
        return settings
    }

    private func history() throws -> History {
        var history = History()
        guard try file.exists("/history/epochs") else { return history }
        let epochs = try file.read("/history/epochs", as: Int64.self).values
        var series: [String: [Double]] = [:]
        for child in try file.children(of: "/history/logs") where child.kind == .dataset {
            let values = try file.read("/history/logs/\(child.name)", as: Double.self).values
            guard values.count == epochs.count else {
                throw CheckpointError.invalidCheckpoint(
                    file: name, object: "/history/logs/\(child.name)",
                    reason: "\(values.count) values for \(epochs.count) epochs")
            }
            series[child.name] = values
        }
        for (index, epoch) in epochs.enumerated() {
            history.record(epoch: Int(epoch), logs: series.mapValues { $0[index] })
        }
        return history
    }

    private func runningSums() throws -> [String: RunningSum] {
        var sums: [String: RunningSum] = [:]
        guard try file.exists("/running_sums") else { return sums }
        for child in try file.children(of: "/running_sums") where child.kind == .dataset {
            let pair = try file.read("/running_sums/\(child.name)", as: Double.self).values
            guard pair.count == 2 else {
                throw CheckpointError.invalidCheckpoint(file: name, object: "/running_sums/\(child.name)",
                                                        reason: "expected [total, weight], found \(pair.count) values")
            }
            sums[child.name] = RunningSum(total: pair[0], weight: pair[1])
        }
        return sums
    }

    /// `/callbacks/<name>` (absent in checkpoints written before callback states were saved):
    /// float64 attributes as values, string attributes as settings, and a kept model read into a copy of `model`, every
    /// variable required.
    private func callbackStates(model: Sequential) throws -> [String: CallbackState] {
        var states: [String: CallbackState] = [:]
        guard try file.exists("/callbacks") else { return states }
        for child in try file.children(of: "/callbacks") where child.kind == .group {
            let group = "/callbacks/\(child.name)"
            var state = CallbackState()
            for key in try file.attributeNames(of: group) {
                if try file.attributeInfo(key, of: group).elementType == .string {
                    state.settings[key] = try attribute(key, of: group) as String
                } else {
                    state.values[key] = try attribute(key, of: group) as Double
                }
            }
            if try file.exists("\(group)/model") {
                var kept = model
                for variable in model.variables {
                    let path = "\(group)/model/\(variable.name)"
                    guard try file.exists(path) else {
                        throw CheckpointError.invalidCheckpoint(file: name, object: path, reason: "missing variable of the kept model")
                    }
                    let value = try tensor(at: path)
                    guard value.shape == variable.value.shape else {
                        throw CheckpointError.invalidCheckpoint(
                            file: name, object: path, reason: "shape \(value.shape), the model's \(variable.value.shape)")
                    }
                    try kept.setVariable(variable.name, to: value)
                }
                for layer in model.randomStates.keys where try file.hasAttribute("rng_state", of: "\(group)/model/\(layer)") {
                    try kept.setRandomState(try attribute("rng_state", of: "\(group)/model/\(layer)"), forLayer: layer)
                }
                state.model = kept
            }
            states[child.name] = state
        }
        return states
    }

    private func storedLoss() throws -> Loss? {
        guard try file.hasAttribute("loss") else { return nil }
        let kerasName: String = try attribute("loss", of: "/")
        guard let kind = Loss.Kind(rawValue: kerasName) else {
            throw CheckpointError.unsupported(file: name, what: "loss '\(kerasName)'")
        }
        let logits: Int8 = try file.hasAttribute("loss_from_logits") ? try attribute("loss_from_logits", of: "/") : 0
        return Loss(kind, fromLogits: logits != 0)
    }

    private func optimizerConfig() throws -> OptimizerConfig {
        try OptimizerAttributes.read(from: file, name: name)
    }

    /// An attribute, with a checkpoint error naming it when it is missing or of another type.
    private func attribute<V: HDF5AttributeValue>(_ attribute: String, of path: String) throws -> V {
        do {
            return try file.readAttribute(attribute, of: path, as: V.self)
        } catch {
            throw CheckpointError.invalidCheckpoint(file: name, object: path,
                                                    reason: "attribute '\(attribute)': \(error.localizedDescription)")
        }
    }
}
