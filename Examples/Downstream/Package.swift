// swift-tools-version: 6.1
import PackageDescription

// A package that uses Batchwise the way another project would: by path, through its
// library products (the umbrella `Batchwise` and, separately, `HDF5` and `Datasets`).
let package = Package(
    name: "BatchwiseDownstream",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Batchwise", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "BatchwiseDownstream",
            dependencies: [
                .product(name: "Batchwise", package: "Batchwise"),
                .product(name: "HDF5", package: "Batchwise"),
                .product(name: "Datasets", package: "Batchwise"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
