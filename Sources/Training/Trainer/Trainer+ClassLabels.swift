import Datasets
import Tensors

/// An integer element type that ``Trainer`` takes as class labels: `Int64`, `Int32` and
/// `UInt8`, as numpy arrays and HDF5 files usually store them.
///
/// ```swift
/// let train = try Slices(x, Tensor<Int64>(labels)).shuffle(bufferSize: 10_000, seed: 18).repeat().batch(32)
/// var trainer = Trainer(model: model, optimizer: Adam(), loss: .sparseCategoricalCrossentropy)
/// try trainer.fit(train, epochs: 10, stepsPerEpoch: 313)
/// ```
public protocol ClassLabelScalar: NumericTensorScalar, BinaryInteger {}

extension Int64: ClassLabelScalar {}
extension Int32: ClassLabelScalar {}
extension UInt8: ClassLabelScalar {}

extension Trainer {
    /// Trains on batches whose targets are integer class labels (shape `[N]` or `[N, 1]`),
    /// as Keras's sparse losses take them. Everything else is as in the `fit` that takes
    /// `Float` targets.
    ///
    /// Each label is checked to be a class index in `0..<model.outputFeatures`, then
    /// converted to `Float` exactly, so training, history and checkpoints are bit for bit
    /// those of the same labels given as `Float`; snapshots taken on either resume on the
    /// other (the pipeline position is the same).
    ///
    /// ```swift
    /// let train = try Slices(x, Tensor<Int64>(labels)).shuffle(bufferSize: 10_000, seed: 18).repeat().batch(32)
    /// var trainer = Trainer(model: model, optimizer: Adam(), loss: .sparseCategoricalCrossentropy)
    /// try trainer.fit(train, epochs: 10, stepsPerEpoch: 313)
    /// ```
    ///
    /// - Throws: ``TrainingError/integerTargets(loss:labelType:)`` before training when the
    ///   loss is not sparse categorical crossentropy (the other losses take `Float` targets);
    ///   ``TrainingError/invalidClassLabel(loss:row:label:classes:)`` naming the batch row and
    ///   the label when a label is negative or not below the number of classes.
    @discardableResult
    public mutating func fit<Train: Dataset, Label: ClassLabelScalar>(
        _ data: Train, epochs: Int, stepsPerEpoch: Int? = nil,
        validationData: (any Dataset<(Tensor<Float>, Tensor<Label>)>)? = nil, validationSteps: Int? = nil,
        callbacks: [any TrainingCallback] = [], progress: ProgressStyle = .automatic,
        resumingFrom snapshot: TrainingSnapshot? = nil
    ) throws -> History where Train.Element == (Tensor<Float>, Tensor<Label>) {
        let classes = try classCount(forLabels: Label.self)
        let validation = validationData.map { Self.classIndexTargets($0, classes: classes, loss: loss.kerasName) }
        return try fit(ClassIndexTargets(base: data, classes: classes, loss: loss.kerasName),
                       epochs: epochs, stepsPerEpoch: stepsPerEpoch,
                       validationData: validation, validationSteps: validationSteps,
                       callbacks: callbacks, progress: progress, resumingFrom: snapshot)
    }

    /// The loss and metrics over batches whose targets are integer class labels, checked and
    /// converted as in the integer-label `fit`; equal, bit for bit, to evaluating the same
    /// labels given as `Float`.
    ///
    /// ```swift
    /// let accuracy = try trainer.evaluate(Slices(xTest, Tensor<Int64>(testLabels)).batch(64))["accuracy"]
    /// ```
    /// - Throws: the errors of the integer-label `fit`, and those of the `evaluate` that
    ///   takes `Float` targets.
    public func evaluate<D: Dataset, Label: ClassLabelScalar>(
        _ data: D, steps: Int? = nil, mode: ExecutionMode = .inference, epoch: UInt64 = 0
    ) throws -> [String: Double] where D.Element == (Tensor<Float>, Tensor<Label>) {
        let classes = try classCount(forLabels: Label.self)
        return try evaluate(ClassIndexTargets(base: data, classes: classes, loss: loss.kerasName),
                            steps: steps, mode: mode, epoch: epoch)
    }

    /// Catches every other pairing of element types, so that the compiler names the fix
    /// instead of failing to type-check the call.
    @available(*, unavailable, message: "fit takes Tensor<Float> features and Float or integer class label targets (Int64, Int32, UInt8): convert in the pipeline, e.g. .map { x, y in (x.converted(to: Float.self), y.converted(to: Float.self)) }")
    @discardableResult
    public mutating func fit<Train: Dataset, Features: TensorScalar, Targets: TensorScalar>(
        _ data: Train, epochs: Int, stepsPerEpoch: Int? = nil,
        validationData: (any Dataset<(Tensor<Features>, Tensor<Targets>)>)? = nil, validationSteps: Int? = nil,
        callbacks: [any TrainingCallback] = [], progress: ProgressStyle = .automatic,
        resumingFrom snapshot: TrainingSnapshot? = nil
    ) throws -> History where Train.Element == (Tensor<Features>, Tensor<Targets>) {
        fatalError("unavailable")
    }

    /// Catches every other pairing of element types, so that the compiler names the fix
    /// instead of failing to type-check the call.
    @available(*, unavailable, message: "evaluate takes Tensor<Float> features and Float or integer class label targets (Int64, Int32, UInt8): convert in the pipeline, e.g. .map { x, y in (x.converted(to: Float.self), y.converted(to: Float.self)) }")
    public func evaluate<D: Dataset, Features: TensorScalar, Targets: TensorScalar>(
        _ data: D, steps: Int? = nil, mode: ExecutionMode = .inference, epoch: UInt64 = 0
    ) throws -> [String: Double] where D.Element == (Tensor<Features>, Tensor<Targets>) {
        fatalError("unavailable")
    }

    /// The number of classes integer labels index, refusing a loss that needs `Float` targets.
    private func classCount<Label>(forLabels _: Label.Type) throws -> Int {
        guard loss.kind == .sparseCategoricalCrossentropy else {
            throw TrainingError.integerTargets(loss: loss.kerasName, labelType: "\(Label.self)")
        }
        return model.outputFeatures
    }

    /// Opens an existential pipeline so that it can be wrapped.
    private static func classIndexTargets<D: Dataset, Label: ClassLabelScalar>(
        _ data: D, classes: Int, loss: String
    ) -> any Dataset<Batch> where D.Element == (Tensor<Float>, Tensor<Label>) {
        ClassIndexTargets(base: data, classes: classes, loss: loss)
    }
}

/// `base`'s batches with their integer class labels checked against `0..<classes` and
/// converted to `Float` — exactly, since every valid index is far below 2^24.
///
/// The iterator state is the base's own, unwrapped, so a snapshot taken while training on
/// integer labels and one taken on the same labels as `Float` are interchangeable.
struct ClassIndexTargets<Base: Dataset, Label: ClassLabelScalar>: Dataset
where Base.Element == (Tensor<Float>, Tensor<Label>) {
    let base: Base
    let classes: Int
    /// The loss's Keras name, for errors.
    let loss: String

    var cardinality: Cardinality { base.cardinality }

    func makeIterator(epoch: UInt64) -> Iterator {
        Iterator(base: base.makeIterator(epoch: epoch), classes: classes, loss: loss)
    }

    func makeIterator(resumingFrom state: IteratorState) throws -> Iterator {
        Iterator(base: try base.makeIterator(resumingFrom: state), classes: classes, loss: loss)
    }

    struct Iterator: DatasetIterator {
        var base: Base.Iterator
        let classes: Int
        let loss: String

        mutating func next() throws -> Trainer.Batch? {
            guard let (x, labels) = try base.next() else { return nil }
            return (x, try ClassIndexTargets.targets(labels, classes: classes, loss: loss))
        }

        var state: IteratorState { base.state }
    }

    /// The labels as `Float`, same shape. Labels of shape `[N]` or `[N, 1]` are checked
    /// here, in the integer domain (a huge `Int64` would not survive the conversion); any
    /// other shape is left for the loss to refuse with the prediction shape beside it.
    static func targets(_ labels: Tensor<Label>, classes: Int, loss: String) throws -> Tensor<Float> {
        if labels.rank >= 1, labels.scalarCount == labels.shape[0] {
            for (row, label) in labels.scalars.enumerated() where label < 0 || label >= classes {
                throw TrainingError.invalidClassLabel(loss: loss, row: row, label: Int64(label), classes: classes)
            }
        }
        return labels.converted(to: Float.self)
    }
}
