// swift-tools-version: 6.1
import PackageDescription

// Modules depend one way (see docs/ARCHITECTURE.md); a target declares only modules it imports:
// CHDF5 -> HDF5;  CBLAS + CVectorKernels -> Tensors;  HDF5 + Tensors -> Datasets -> Training;  CVectorKernels (C, AVX kernels) -> Training;
// HDF5 + Tensors + Datasets + Training -> Checkpoints (file formats) -> Workflows (train jobs, data
// checks, prediction);  HDF5 + Datasets + Tensors + Training -> Experiments;  all of them but Experiments ->
// Batchwise (umbrella);  Batchwise + Workflows + Experiments + CProcessControl (prctl) + Distributed -> BatchwiseCLI
// (the `batchwise` executable, which links Open MPI through Distributed);  Checkpoints + HDF5 + Training + CProcessControl -> CheckpointFuzzHelper;
// Batchwise + Experiments + CProcessControl + Distributed -> BatchwiseBench (the `batchwise-bench` executable);
// Batchwise -> the Examples/ executables.  Each *Tests target depends on the module it is named
// after (CheckpointsTests also on CProcessControl); CheckpointsTests and WorkflowsTests share
// CheckpointsTestSupport (Checkpoints + Datasets + HDF5 + Tensors + Training -> fixtures).
// CMPI (Open MPI) + CProcessControl (the cross-memory attach probe) + Training + Datasets + Tensors -> Distributed (data-parallel collectives and the
// data-parallel trainer; no core module depends on it); Distributed + Training + Datasets + Tensors +
// Checkpoints + CProcessControl -> DistributedCheckHelper (the rank program DistributedTests runs under mpirun);
// DistributedTests depends on Distributed, Training, Datasets, Tensors and CProcessControl.
// Build tool: TypeRegistryGenerator (Plugins/, no dependencies) -> TypeRegistryPlugin, which Training
// applies to list its layer, optimizer and schedule types (KerasLayerTypes.all, ...) at build time.
let package = Package(
    name: "Batchwise",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Batchwise", targets: ["Batchwise"]),
        .library(name: "HDF5", targets: ["HDF5"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Checkpoints", targets: ["Checkpoints"]),
        .library(name: "Workflows", targets: ["Workflows"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .executable(name: "batchwise", targets: ["BatchwiseCLI"]),
        .executable(name: "batchwise-bench", targets: ["BatchwiseBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        // Only for `make docs` (`swift package generate-documentation`); links into no target.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CHDF5",
            pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]
        ),
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]
        ),
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"]), .brew(["open-mpi"])]
        ),
        // prctl(2) for the executables and tests: no child process outlives its parent.
        .target(name: "CProcessControl"),
        .target(name: "HDF5", dependencies: ["CHDF5"]),
        .target(name: "Tensors", dependencies: ["CBLAS", "CVectorKernels"]),
        .target(name: "Datasets", dependencies: ["HDF5", "Tensors"]),
        // Element-wise kernels compiled for AVX and chosen at run time (the package targets baseline x86-64).
        .target(name: "CVectorKernels"),
        .target(name: "Training", dependencies: ["Datasets", "Tensors", "CVectorKernels"], plugins: ["TypeRegistryPlugin"]),
        .executableTarget(name: "TypeRegistryGenerator", path: "Plugins/TypeRegistryGenerator"),
        .plugin(name: "TypeRegistryPlugin", capability: .buildTool(), dependencies: ["TypeRegistryGenerator"]),
        .target(
            name: "Checkpoints",
            dependencies: ["HDF5", "Tensors", "Datasets", "Training",
                           .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        .target(name: "Workflows", dependencies: ["HDF5", "Tensors", "Datasets", "Training", "Checkpoints"]),
        .target(name: "Experiments", dependencies: ["HDF5", "Datasets", "Training", "Tensors"]),
        .target(name: "Batchwise", dependencies: ["HDF5", "Tensors", "Datasets", "Training", "Checkpoints", "Workflows"]),
        .executableTarget(
            name: "BatchwiseCLI",
            dependencies: [
                "Batchwise",
                "Workflows",
                "Experiments",
                "CProcessControl",
                "Distributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "Distributed", dependencies: ["CMPI", "CProcessControl", "Training", "Datasets", "Tensors"]),
        .executableTarget(name: "DistributedCheckHelper",
                          dependencies: ["Distributed", "Training", "Datasets", "Tensors", "Checkpoints", "CProcessControl"]),
        .executableTarget(name: "CheckpointFuzzHelper", dependencies: ["Checkpoints", "HDF5", "Training", "CProcessControl"]),
        .executableTarget(name: "SeedPipeline", dependencies: ["Batchwise"], path: "Examples/SeedPipeline"),
        .executableTarget(name: "KerasPredict", dependencies: ["Batchwise"], path: "Examples/KerasPredict"),
        .executableTarget(name: "DigitsClassifier", dependencies: ["Batchwise"], path: "Examples/DigitsClassifier"),
        .executableTarget(name: "DigitsCNN", dependencies: ["Batchwise"], path: "Examples/DigitsCNN", exclude: ["README.md"]),
        // `batchwise-bench`: the benchmarks, kept out of the shipped CLI (docs/PERFORMANCE.md).
        .executableTarget(
            name: "BatchwiseBench",
            dependencies: [
                "Batchwise",
                "Experiments",
                "CProcessControl",
                "Distributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/Sources/BatchwiseBench"
        ),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training"]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Training", "Datasets", "Tensors", "CProcessControl"]),
        // Fixtures shared by CheckpointsTests and WorkflowsTests (a library only tests link).
        .target(name: "CheckpointsTestSupport", dependencies: ["Checkpoints", "Datasets", "HDF5", "Tensors", "Training"],
                path: "Tests/CheckpointsTestSupport"),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "CheckpointsTestSupport", "CProcessControl"]),
        .testTarget(name: "WorkflowsTests", dependencies: ["Workflows", "CheckpointsTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
