import Foundation
import HDF5
import Tensors
import Training

/// Loads and saves Keras model files: `.keras` archives, Keras 3 `.weights.h5`, and
/// tf.keras legacy `.h5` (full model or weights only). Every variable is assigned by
/// position with a shape check; mismatches are ``CheckpointError``s naming the file,
/// dataset path, layer and variable.
///
/// ```swift
/// let loaded = try KerasModelFile.load(URL(fileURLWithPath: "model.keras"))
/// var model = loaded.model
/// try KerasModelFile.loadWeights(URL(fileURLWithPath: "model.weights.h5"), into: &model)
/// try KerasModelFile.save(model, optimizer: adam, loss: .binaryCrossentropy,
///                         to: URL(fileURLWithPath: "out.keras"))
/// ```
public enum KerasModelFile {
    /// Loads a whole model (architecture, weights, optimizer state when present) from a
    /// `.keras` archive or a legacy tf.keras `.h5` file.
    public static func load(_ url: URL) throws -> LoadedKerasModel {
        switch try format(of: url) {
        case .kerasArchive:
            return try loadArchive(url)
        case .legacyModel:
            return try withHDF5(url) { file in
                let name = url.path
                let reader = KerasLegacyReader(file: file, displayName: name)
                let configText = try file.readAttribute("model_config", as: String.self)
                var model = try KerasModelConfig.model(fromJSON: configText, file: name + "@model_config")
                try reader.loadWeights(into: &model)
                var training: KerasJSON?
                if try file.hasAttribute("training_config") {
                    training = try KerasJSON.parse(try file.readAttribute("training_config", as: String.self),
                                                   file: name + "@training_config")
                }
                let state = try reader.optimizerState(for: model)
                let decoded = Result { try KerasOptimizerCodec.optimizer(from: training?["optimizer_config"]) }
                var optimizer: (any Optimizer)? = try? decoded.get()
                var problem = try Self.failure(of: decoded)
                // tf.keras names slots its own way and the reader maps Adam's only: an optimizer
                // whose stored slots are not exactly its own would resume with a wrong state.
                if let described = try? decoded.get(), let state {
                    let expected = Set(described.kerasVariableOrder(for: model.trainableVariables.map(\.name)))
                    if Set(state.slots.keys) != expected {
                        optimizer = nil
                        problem = .unsupported(file: name, what: "the /optimizer_weights of \(type(of: described).kerasClassName) cannot be mapped to its slots")
                    }
                }
                if let state { optimizer?.state = state }
                let loss = KerasCompileConfig.loss(from: training?["loss"])
                return LoadedKerasModel(model: model, optimizer: optimizer, optimizerState: state,
                                        lossName: loss.name, loss: loss.loss, format: .legacyModel,
                                        unsupportedOptimizer: problem)
            }
        case let other:
            throw CheckpointError.invalidFile(
                file: url.path,
                message: "a \(other.rawValue) file holds weights only, no architecture: load it into a model with KerasModelFile.loadWeights, or use a .keras or full-model .h5 file")
        }
    }

    /// Loads the weights of a Keras 3 `.weights.h5`, a `.keras` archive or a legacy `.h5`
    /// into `model`, whose architecture must match (layer names, variable shapes).
    /// On error `model` is unchanged.
    public static func loadWeights(_ url: URL, into model: inout Sequential) throws {
        var copy = model
        switch try format(of: url) {
        case .kerasArchive:
            let contents = try KerasArchive.read(url)
            defer { try? FileManager.default.removeItem(at: contents.weightsURL) }
            try withHDF5(contents.weightsURL) { file in
                try KerasWeightsReader(file: file, displayName: url.path + "/model.weights.h5").loadWeights(into: &copy)
            }
        case .kerasWeights:
            try withHDF5(url) { try KerasWeightsReader(file: $0, displayName: url.path).loadWeights(into: &copy) }
        case .legacyModel, .legacyWeights:
            try withHDF5(url) { try KerasLegacyReader(file: $0, displayName: url.path).loadWeights(into: &copy) }
        }
        model = copy
    }

    /// Saves `model` in the format its extension names: `.keras` (architecture, weights and,
    /// when given, optimizer and loss as `compile_config`) or `.weights.h5` (weights and
    /// optimizer state). Both are written to a temporary file and renamed into place.
    public static func save(_ model: Sequential, optimizer: (any Optimizer)? = nil, loss: Loss? = nil, to url: URL) throws {
        // Refused before anything is written, naming the file (the writers only know the optimizer).
        if let optimizer, !(optimizer is any KerasOptimizer) {
            throw CheckpointError.unsupported(file: url.path, what: "optimizer \(type(of: optimizer)) has no Keras equivalent")
        }
        let name = url.lastPathComponent.lowercased()
        if name.hasSuffix(".weights.h5") {
            try HDF5File.atomicWrite(to: url, inMemory: true) { try KerasWeightsWriter.write(model, optimizer: optimizer, to: $0) }
        } else if name.hasSuffix(".keras") {
            let compile: [String: Any]?
            let config: String
            do {
                compile = optimizer == nil && loss == nil ? nil : try KerasCompileConfig.object(optimizer: optimizer, loss: loss)
                // Like Keras, an uncompiled model gets an empty compile_config rather than none.
                config = try KerasModelConfig.serialize(KerasModelConfig.object(for: model, compileConfig: compile ?? [:]))
            } catch let error as CheckpointError {
                throw error.naming(file: url.path)   // the config writers know no file name
            }
            let metadata = try KerasModelConfig.serialize(["keras_version": "3.15.1", "date_saved": savedDate()])
            try KerasArchive.write(to: url, config: config, metadata: metadata) { weightsURL in
                // Keras ignores /optimizer without a compile_config; keep the file consistent.
                try HDF5File.atomicWrite(to: weightsURL, inMemory: true) {
                    try KerasWeightsWriter.write(model, optimizer: compile == nil ? nil : optimizer, to: $0)
                }
            }
        } else {
            throw CheckpointError.unsupported(file: url.path, what: "cannot tell the Keras format from the name; use .keras or .weights.h5")
        }
    }

    /// Tells the formats apart by content (zip magic, HDF5 layout), using the name only to
    /// separate Keras 3 weights from legacy weights.
    public static func format(of url: URL) throws -> LoadedKerasModel.Format {
        let container = try ModelFileContainer(sniffing: url)
        if container == .zip { return .kerasArchive }
        guard container == .hdf5 else {
            throw CheckpointError.invalidFile(file: url.path, message: "neither a .keras (zip) archive nor an HDF5 file")
        }
        if try NativeCheckpoint.isCheckpoint(at: url) {
            throw CheckpointError.invalidFile(file: url.path, message: "a Batchwise checkpoint, not a Keras file (load it with NativeCheckpoint.load)")
        }
        return try withHDF5(url) { file in
            if try file.hasAttribute("model_config") { return .legacyModel }
            if try file.exists("/layers") { return .kerasWeights }
            if try file.hasAttribute("layer_names") { return .legacyWeights }
            if try file.exists("/model_weights") {
                throw CheckpointError.missingObject(file: url.path, path: "/@model_config",
                                                    message: "a legacy model file without its model_config attribute")
            }
            throw CheckpointError.invalidFile(file: url.path, message: "an HDF5 file but not a Keras model or weights file (no /layers, model_config or layer_names)")
        }
    }

    // MARK: Internals

    private static func loadArchive(_ url: URL) throws -> LoadedKerasModel {
        let contents = try KerasArchive.read(url)
        defer { try? FileManager.default.removeItem(at: contents.weightsURL) }
        let configName = url.path + "/config.json"
        let root = try KerasJSON.parse(contents.config, file: configName)
        var model = try KerasModelConfig.model(from: root, file: configName)
        let compile = root["compile_config"]
        return try withHDF5(contents.weightsURL) { file in
            let reader = KerasWeightsReader(file: file, displayName: url.path + "/model.weights.h5")
            try reader.loadWeights(into: &model)
            // Like Keras: without a compile_config the /optimizer group is not restored.
            let decoded = Result { try KerasOptimizerCodec.optimizer(from: compile?["optimizer"]) }
            var optimizer = try? decoded.get()
            var state: OptimizerState?
            // Slots are only mapped for optimizers Batchwise has; others load without state
            // (the model still predicts), and `unsupportedOptimizer` says why.
            if let described = optimizer, let saved = try reader.optimizerState(for: model, optimizer: described) {
                state = saved.state
                optimizer?.state = saved.state
                if let rate = saved.learningRate { optimizer?.learningRate = rate }
            }
            let loss = KerasCompileConfig.loss(from: compile?["loss"])
            return LoadedKerasModel(model: model, optimizer: optimizer, optimizerState: state,
                                    lossName: loss.name, loss: loss.loss, format: .kerasArchive,
                                    unsupportedOptimizer: try Self.failure(of: decoded))
        }
    }

    /// The error of an optimizer that could not be decoded; other errors (a malformed file) are rethrown.
    private static func failure(of decoded: Result<(any KerasOptimizer)?, any Error>) throws -> CheckpointError? {
        guard case .failure(let error) = decoded else { return nil }
        guard let error = error as? CheckpointError else { throw error }
        return error
    }

    static func withHDF5<T>(_ url: URL, _ body: (HDF5File) throws -> T) throws -> T {
        let file = try HDF5File.open(at: url, mode: .readOnly, locking: .bestEffort)
        defer { try? file.close() }
        return try body(file)
    }

    private static func savedDate() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd@HH:mm:ss"
        return formatter.string(from: Date())
    }
}
