// `import Batchwise` brings every public module of the package.
@_exported import HDF5
@_exported import Tensors
@_exported import Datasets
@_exported import Training
@_exported import Checkpoints
@_exported import Workflows
