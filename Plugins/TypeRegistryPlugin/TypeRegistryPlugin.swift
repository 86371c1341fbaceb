import Foundation
import PackagePlugin

/// Generates the Training module's registries of the types a Keras file or checkpoint can name
/// (`KerasLayerTypes.all`, `KerasOptimizerTypes.all`, `LearningRateScheduleTypes.all`) from its
/// sources, so that a new layer, optimizer or schedule is its own file and nothing else
/// (docs/ARCHITECTURE.md). The tool, TypeRegistryGenerator, reruns whenever a source file of
/// the target changes.
@main
struct TypeRegistryPlugin: BuildToolPlugin {
    /// `PROTOCOL:ENUM:ACCESS`: the conformers of PROTOCOL become `ENUM.all`, declared ACCESS.
    static let registries = [
        "Layer:KerasLayerTypes:package",
        "KerasOptimizer:KerasOptimizerTypes:public",
        "LearningRateSchedule:LearningRateScheduleTypes:public",
    ]

    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let sources = target.sourceFiles(withSuffix: "swift").map(\.url).sorted { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("\(target.name)TypeRegistries.swift")
        var arguments = ["--module", target.name, "--output", output.path]
        for registry in Self.registries { arguments += ["--registry", registry] }
        arguments += ["--"] + sources.map(\.path)
        return [.buildCommand(
            displayName: "Listing the layer, optimizer and schedule types of \(target.name)",
            executable: try context.tool(named: "TypeRegistryGenerator").url,
            arguments: arguments,
            inputFiles: sources,
            outputFiles: [output]
        )]
    }
}
