// Writes the registries of a module's conforming types, so that adding a layer, optimizer or
// schedule is its own file only (docs/ARCHITECTURE.md). Swift cannot list a protocol's
// conformers at run time, so Plugins/TypeRegistryPlugin runs this tool at build time over the
// module's sources:
//
//   TypeRegistryGenerator --module Training --output Registries.swift \
//       --registry Layer:KerasLayerTypes:package ... -- Sources/Training/**/*.swift
//
// Each `--registry PROTOCOL:ENUM:ACCESS` becomes `extension ENUM { ACCESS static let all:
// [any PROTOCOL.Type] }` listing, sorted by name, every struct, class, enum or actor of the
// sources that conforms to PROTOCOL: directly, through a protocol that refines it
// (`ReLU: ActivationLayerShorthand`), a superclass, or an extension adding the conformance.
// A conforming type the module cannot name from another file (private, generic, local) is an
// error naming its file and line, never silently left out. The output is rewritten only when
// it changes.
import Foundation

struct Registry {
    let protocolName: String
    let enumName: String
    let access: String
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(1)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var module = "", output = "", registries: [Registry] = [], sources: [String] = []
while let argument = arguments.first {
    arguments.removeFirst()
    switch argument {
    case "--module": module = arguments.isEmpty ? "" : arguments.removeFirst()
    case "--output": output = arguments.isEmpty ? "" : arguments.removeFirst()
    case "--registry":
        let parts = (arguments.isEmpty ? "" : arguments.removeFirst()).split(separator: ":").map(String.init)
        guard parts.count == 3 else { fail("--registry takes PROTOCOL:ENUM:ACCESS") }
        registries.append(Registry(protocolName: parts[0], enumName: parts[1], access: parts[2]))
    case "--": sources = arguments; arguments = []
    default: fail("unknown argument '\(argument)'")
    }
}
guard !module.isEmpty, !output.isEmpty, !registries.isEmpty else {
    fail("usage: TypeRegistryGenerator --module NAME --output FILE --registry PROTOCOL:ENUM:ACCESS... -- SOURCES...")
}

var declarations: [TypeDeclaration] = []
for path in sources.sorted() {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    declarations += TypeDeclaration.scan(Array(data), file: path, module: module)
}

// What each name inherits, over all its declarations and extensions; simple names resolve too.
var inherited: [String: Set<String>] = [:]
for declaration in declarations { inherited[declaration.name, default: []].formUnion(declaration.inherited) }

func conforms(_ name: String, to root: String, in inherited: [String: Set<String>], visiting: Set<String> = []) -> Bool {
    if name == root { return true }
    guard !visiting.contains(name) else { return false }
    let parents = inherited[name] ?? inherited.first { $0.key.split(separator: ".").last.map(String.init) == name }?.value
    return (parents ?? []).contains { conforms($0, to: root, in: inherited, visiting: visiting.union([name])) }
}

var generated = """
    // Generated at build time by TypeRegistryGenerator (Plugins/TypeRegistryPlugin) from the
    // sources of \(module). Do not edit: a type that conforms is listed here by itself.

    """
var problems: [String] = []
for registry in registries {
    let conformers = declarations.filter { $0.isConcreteType && conforms($0.name, to: registry.protocolName, in: inherited) }
    for declaration in conformers {
        if let reason = declaration.unreachable {
            problems.append("\(declaration.file):\(declaration.line): error: \(declaration.name) conforms to "
                + "\(registry.protocolName) but cannot be listed in \(registry.enumName).all: \(reason)")
        }
    }
    let names = Set(conformers.map(\.name)).sorted()
    generated += """

        extension \(registry.enumName) {
            /// Every type of \(module) that conforms to `\(registry.protocolName)`, by name (listed at build time).
            \(registry.access) static let all: [any \(registry.protocolName).Type] = [
        \(names.map { "        \($0).self,\n" }.joined())    ]
        }

        """
}
guard problems.isEmpty else {
    FileHandle.standardError.write(Data(problems.joined(separator: "\n").utf8 + Data("\n".utf8)))
    exit(1)
}
if FileManager.default.contents(atPath: output) != Data(generated.utf8) {
    do {
        try Data(generated.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
    } catch {
        fail("cannot write \(output): \(error)")
    }
}
