// The context of the documentation's Swift snippets (scripts/check-doc-snippets.swift): the
// imports of every snippet that has none, and the values, types and functions that snippets
// use without declaring them, each declared once here with the meaning the docs give it.
// Snippets are type-checked, never run. A snippet that means something else by one of these
// names declares it itself (local declarations shadow these).
import ArgumentParser
import CHDF5
import Foundation
@testable import Batchwise
@testable import BatchwiseCLI
@testable import Checkpoints
@testable import Datasets
@testable import Experiments
@testable import HDF5
@testable import Tensors
@testable import Training
@testable import Workflows

func placeholder<T>() -> T { fatalError("documentation snippets are type-checked, never run") }

// Tensors: features and targets [N, d] as the trainer takes them, test inputs, predictions.
var x: Tensor<Float> { placeholder() }
var y: Tensor<Float> { placeholder() }
var features: Tensor<Float> { placeholder() }
var xTest: Tensor<Float> { placeholder() }
var shiftedTestSet: Tensor<Float> { placeholder() }
var unlabeledShiftedRows: Tensor<Float> { placeholder() }
var p: Tensor<Float> { placeholder() }
var t: Tensor<Float> { placeholder() }
var oneHot: Tensor<Float> { placeholder() }
var dy: Tensor<Float> { placeholder() }
var kernel: Tensor<Float> { placeholder() }
var a: Tensor<Double> { placeholder() }
var b: Tensor<Double> { placeholder() }
/// The raw values a pipeline starts from: scalars and class labels.
var xs: [Double] { placeholder() }
var labels: [Int64] { placeholder() }
var testLabels: [Int64] { placeholder() }
var weights: [Float] { placeholder() }
var row: [Float] { placeholder() }

// Pipelines of training batches.
var train: AnyDataset<Trainer.Batch> { placeholder() }
var data: AnyDataset<Trainer.Batch> { placeholder() }
var validation: AnyDataset<Trainer.Batch> { placeholder() }
var val: AnyDataset<Trainer.Batch> { placeholder() }
var test: AnyDataset<Trainer.Batch> { placeholder() }
var pipeline: AnyDataset<Trainer.Batch> { placeholder() }
/// Files to decode into tensors (the map and cache examples).
var files: AnyDataset<URL> { placeholder() }
var expensive: AnyDataset<URL> { placeholder() }
func decode(_ file: URL) throws -> Tensor<Float> { placeholder() }
func augment(_ batch: Trainer.Batch) -> Trainer.Batch { batch }
func step(_ x: Tensor<Float>, _ y: Tensor<Float>) {}

// Models, training and checkpoints.
var model: Sequential { get { placeholder() } set {} }
var myModel: Sequential { placeholder() }
/// A classifier whose last layer is a softmax (the warning example).
var softmaxModel: Sequential { placeholder() }
var trainer: Trainer { get { placeholder() } set {} }
var adam: Adam { get { placeholder() } set {} }
var snapshot: TrainingSnapshot { placeholder() }
var config: OptimizerConfig { placeholder() }
var event: StepEvent { placeholder() }
var stop: StopEvent { placeholder() }
var job: TrainJob { get { placeholder() } set {} }
var checkpoints: CheckpointDirectory { placeholder() }
func save(_ snapshot: TrainingSnapshot, to url: URL) throws {}
func readMyFormat(_ url: URL) throws -> Sequential { placeholder() }

// Files.
var url: URL { placeholder() }
var dataURL: URL { placeholder() }
var checkpointURL: URL { placeholder() }
var folder: URL { placeholder() }
var runFolder: URL { placeholder() }
var copy: URL { placeholder() }
var path: String { placeholder() }
var file: HDF5File { placeholder() }
var text: String { placeholder() }

// Internals documented for maintainers.
var count: Int { placeholder() }
var id: hid_t { placeholder() }
var dataset: HDF5Dataset { placeholder() }
var source: UnsafeRawPointer { placeholder() }
var batch: UnsafeMutableRawPointer { placeholder() }
var isolation: IsolationOptions { placeholder() }
