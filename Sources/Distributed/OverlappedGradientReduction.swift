import Tensors
import Training

/// ``ReductionMode/fast``'s reduction of a step's gradients while the backward pass still runs
/// (a rank's rows in one segment): as each layer's backward pass finishes, its large gradients
/// (``GlobalBatchReducer/largeVectorMinimumWidth`` values or more, such as a Dense kernel) are
/// summed over the ranks in place, where the layer wrote them, by a nonblocking all-reduce
/// (`MPI_Iallreduce`) each, and the earlier layers' backward passes run meanwhile; the small
/// ones are copied into one vector with the loss and the rank's status, reduced last. Before
/// the optimizer reads anything, ``finish(failed:)`` waits for all of them.
///
/// Instead of copying every gradient into one vector, reducing it and copying it back into
/// tensors (about a megabyte each way for the benchmark's model), the large gradients are
/// reduced where they are and handed to the optimizer as they are. On two ranks each sum is
/// `a + b` either way, so the results are bitwise those of one all-reduce of the whole vector;
/// on more ranks Open MPI's order of additions may differ between message sizes (fast mode's
/// last bits depend on the rank count anyway), and every rank still gets the same bits.
///
/// Every rank starts the same collectives in the same order: one per large gradient of each
/// layer, last layer first (zeros where a failed rank has none), then the small vector. MPI
/// calls stay on the communicator's thread: the backward pass calls
/// ``layerFinished(at:named:gradients:)`` there between layers, and each call also lets the
/// started reductions progress (Open MPI moves their data only inside MPI calls). Time in
/// those calls counts as time in collectives (``Communicator/secondsInCollectives``).
///
/// With ``ReductionTransport/sharedMemory`` on ranks of one node (stop 19), ``finish(failed:)``
/// sums the same pieces (the large gradients where the layers wrote them, then the small
/// vector) through a ``SharedMemoryWindow`` instead: nothing is started during the backward
/// pass, and on 2 ranks every sum is the same `a + b`, so the bits are those of the collectives.
final class OverlappedGradientReduction {
    private let communicator: Communicator
    private let layout: ReductionLayout
    /// Each layer's gradient slots and their local variable names, by the layer's index in the
    /// model (stop 26: looked up by index and compared as short names, where each step built
    /// `"<layer>/<variable>"` strings and hashed them into dictionaries).
    private let slotsOfLayer: GradientSlotTable
    /// Whether each of the layer's slots got a gradient in ``layerFinished(at:named:gradients:)`` (scratch).
    private var present: [Bool]
    /// Where each small slot sits in `small` (nil for a large one).
    private let smallOffsets: [Int?]
    /// The small gradients, then the loss summed over the rank's rows, then the status.
    private var small: [Float]
    private var lossIndex: Int { small.count - 2 }
    /// The large gradients being reduced in place (nil before their layer finished).
    private var reduced: [Tensor<Float>?]
    /// Zeros reduced in place of a large gradient this rank could not compute, kept for the next failure.
    private var zeros: [Int: Tensor<Float>] = [:]
    private let pending = PendingCollectives()
    /// False: the reductions start in ``finish(failed:)``, after the backward pass, in the same
    /// order and with the same algorithm (so with the same bits), instead of as each layer finishes.
    private let overlaps: Bool
    /// The transport asked for; ``prepareTransport()`` opens the window on the first step.
    let transport: ReductionTransport
    /// The shared-memory window carrying the reduction, when the ranks share a node.
    private(set) var window: SharedMemoryWindow?
    /// Why the collectives carry it although shared memory was asked for (nil before the first step).
    private(set) var transportDecision: SharedMemoryDecision?
    /// Whether the large gradients' collectives start during the backward pass.
    private var startsCollectivesEarly: Bool { overlaps && window == nil }
    /// The large gradients' memory, in the order their reductions start, while `overlaps` is false.
    private var deferred: [UnsafeMutableBufferPointer<Float>] = []
    /// How many layers have started their reductions this step (``finish(failed:)`` starts the
    /// rest, last layer first, when a step stopped early).
    private var layersFinished = 0
    /// Whether this rank holds rows this step, and so must have every gradient (set by the step).
    var expectsGradients = false
    /// The first layer lacking a gradient although this rank has rows.
    private var layerMissingGradient: String?
    /// This rank's loss times its rows, set by the step before ``finish(failed:)``.
    var localLossSum: Float = 0
    /// What ``finish(failed:)`` reduced, until ``takeResult()`` hands it out.
    private var result: (gradients: Gradients, lossSum: Float)?
    /// The gradients handed to the optimizer, laid out once as `Gradients(named:)` lays out
    /// `layout.gradients`: each step puts the large gradients in and writes the small ones into
    /// the tensors of the last step's value, handed back by ``recycle(_:)`` with its large
    /// gradients dropped (so that their memory is free for the next backward pass, as before);
    /// nil while the optimizer holds it, or after a step that did not hand it back.
    private var output: Gradients?
    /// The layout with empty placeholders, for the first step (and one after a failed step).
    private let template: Gradients
    private let placeholder = Tensor<Float>(zeros: [0])
    /// Where each slot of `layout.gradients` sits in `output`.
    private let outputLocations: [(layer: Int, position: Int)]

    private static let operation = "data-parallel step (overlapped gradient reduction)"

    init(communicator: Communicator, layout: ReductionLayout, model: Sequential, overlaps: Bool, transport: ReductionTransport) {
        self.communicator = communicator
        self.layout = layout
        self.overlaps = overlaps
        self.transport = transport
        var smallOffsets: [Int?] = []
        var smallCount = 0
        for slot in layout.gradients {
            if slot.range.count >= GlobalBatchReducer.largeVectorMinimumWidth {
                smallOffsets.append(nil)
            } else {
                smallOffsets.append(smallCount)
                smallCount += slot.range.count
            }
        }
        self.slotsOfLayer = GradientSlotTable(layout: layout, layerNames: model.layers.map(\.name))
        self.present = [Bool](repeating: false, count: slotsOfLayer.maximumSlotsPerLayer)
        self.smallOffsets = smallOffsets
        self.small = Bits.zeros(Float.self, count: smallCount + 2)
        self.reduced = layout.gradients.map { _ in nil }
        // The large ones are placeholders: each step puts the reduced tensors in their place.
        let output = Gradients(named: layout.gradients.indices.map { index in
            let slot = layout.gradients[index]
            return NamedVariable(name: slot.name, value: Tensor<Float>(zeros: smallOffsets[index] == nil ? [0] : slot.shape),
                                 isTrainable: true)
        })
        self.outputLocations = layout.gradients.map { output.location(of: $0.name)! }
        self.template = output
    }

    /// Starts the reductions of the gradients of the layer at `layerIndex` in the model, named
    /// `layerName` (`gradients`: this rank's, empty when it has none), in the order of the
    /// layout; large ones are reduced in place and must not be touched until
    /// ``finish(failed:)`` returns. Then lets every started reduction progress.
    func layerFinished(at layerIndex: Int, named layerName: String, gradients: inout LayerGradients) throws {
        // Counted, not compared by name: every rank's step calls this for the same layers, and
        // the slots go by the variables' names.
        layersFinished += 1
        let slots = slotsOfLayer.slots(ofLayerAt: layerIndex, named: layerName)
        for position in slots.indices { present[position] = false }
        try gradients.updateEach { localName, value in
            guard let position = slots.firstIndex(where: { $0.localName == localName }),
                  value.scalarCount == layout.gradients[slots[position].slot].range.count else { return }
            present[position] = true
            try take(&value, slot: slots[position].slot)
        }
        for position in slots.indices where !present[position] {
            if expectsGradients && layerMissingGradient == nil { layerMissingGradient = layerName }
            try takeZeros(slot: slots[position].slot)
        }
        if startsCollectivesEarly { try communicator.progress(pending, operation: Self.operation) }
    }

    /// Opens the shared-memory window on the first step when ``transport`` asks for it (a
    /// collective: every rank calls it at the same point of the step, after the step's
    /// agreement), or records why the collectives carry the reduction instead.
    func prepareTransport() throws {
        guard transport.usesWindow(in: .fast), transportDecision == nil else { return }
        let capacity = layout.gradients.indices.reduce(small.count) { $0 + (smallOffsets[$1] == nil ? layout.gradients[$1].range.count : 0) }
        (window, transportDecision) = try SharedMemoryWindow.open(on: communicator, capacity: capacity, operation: Self.operation)
    }

    /// A large gradient starts its reduction where it is; a small one is copied into `small`.
    private func take(_ value: inout Tensor<Float>, slot index: Int) throws {
        if let offset = smallOffsets[index] {
            value.withUnsafeBufferPointer { source in
                small.withUnsafeMutableBufferPointer { target in
                    Bits.copy(source.baseAddress!, to: target.baseAddress!.advanced(by: offset), count: source.count)
                }
            }
            return
        }
        // The tensor's storage outlives this call: `reduced` holds it (as does the step's
        // result) until finish(failed:) has waited for the reduction.
        let buffer = value.withUnsafeMutableBufferPointer { $0 }
        reduced[index] = value
        if startsCollectivesEarly {
            try communicator.startAllReduceSum(agreedLength: buffer, pending: pending, operation: Self.operation)
        } else {
            deferred.append(buffer)
        }
    }

    private func takeZeros(slot index: Int) throws {
        let slot = layout.gradients[index]
        if let offset = smallOffsets[index] {
            small.withUnsafeMutableBufferPointer { Bits.zero(UnsafeMutableBufferPointer(rebasing: $0[offset..<(offset + slot.range.count)])) }
            return
        }
        var value = zeros.removeValue(forKey: index) ?? Tensor<Float>(zeros: slot.shape)
        value.withUnsafeMutableBufferPointer { Bits.zero($0) }
        try take(&value, slot: index)
        zeros[index] = value
    }

    /// Completes the step's reduction on every rank, whatever happened to this one: starts
    /// zeros for the layers whose backward pass did not finish (so that every rank starts the
    /// same collectives), reduces the small vector with ``localLossSum`` and the status
    /// (`failed`, or a missing gradient), and waits for everything. Keeps the reduced gradients
    /// and the global loss sum for ``takeResult()``, or throws: `TrainingError.missingGradients(layer:)`
    /// on a rank with rows whose step left a gradient out, else
    /// ``DistributedError/otherRankInputRejected(operation:rank:)`` when any rank failed.
    func finish(failed: Bool) throws {
        defer { reset() }
        while layersFinished < slotsOfLayer.layerNames.count {
            var none = LayerGradients()
            let index = slotsOfLayer.layerNames.count - 1 - layersFinished
            try layerFinished(at: index, named: slotsOfLayer.layerNames[index], gradients: &none)
        }
        small[lossIndex] = localLossSum
        small[small.count - 1] = failed || layerMissingGradient != nil ? 1 : 0
        if let window {
            try small.withUnsafeMutableBufferPointer { try window.allReduceSum(deferred + [$0], operation: Self.operation) }
        } else {
            for buffer in deferred {
                try communicator.startAllReduceSum(agreedLength: buffer, pending: pending, operation: Self.operation)
            }
            try small.withUnsafeMutableBufferPointer { buffer in
                try communicator.startAllReduceSum(agreedLength: buffer, pending: pending, operation: Self.operation)
            }
            try communicator.waitAll(pending, operation: Self.operation)
        }
        if let layerMissingGradient { throw TrainingError.missingGradients(layer: layerMissingGradient) }
        guard small[small.count - 1] == 0 else { throw DistributedError.otherRankInputRejected(operation: Self.operation, rank: nil) }
        var output = self.output.take() ?? template
        for (index, location) in outputLocations.enumerated() {
            if let offset = smallOffsets[index] {
                small.withUnsafeBufferPointer { source in
                    output.updateValue(at: location) { value in
                        value.withUnsafeMutableBufferPointer { target in
                            Bits.copy(source.baseAddress!.advanced(by: offset), to: target.baseAddress!, count: target.count)
                        }
                    }
                }
            } else {
                output.setValue(reduced[index]!, at: location)
            }
        }
        result = (output, small[lossIndex])
    }

    /// Takes back the gradients ``takeResult()`` handed out, once the optimizer is done with
    /// them: their small tensors are written in place by the next step, and their large ones
    /// are dropped now, as before stop 26 (held until the next step replaced them, they cost a
    /// megabyte more while the next backward pass allocates its own, and 400 page faults more
    /// in `batchwise-bench distributed --work-rows 128`; none per step either way).
    func recycle(_ gradients: consuming Gradients) {
        var gradients = gradients
        for (index, location) in outputLocations.enumerated() where smallOffsets[index] == nil {
            gradients.setValue(placeholder, at: location)
        }
        output = gradients
    }

    /// The gradients and loss sum the last ``finish(failed:)`` reduced (moved out).
    func takeResult() -> (gradients: Gradients, lossSum: Float) {
        defer { result = nil }
        return result!
    }

    /// Waits for the reductions a failed step started (every rank started the same ones before
    /// the collective that failed), so that none writes into memory freed later.
    func abandon() {
        try? communicator.waitAll(pending, operation: Self.operation)
        reset()
    }

    private func reset() {
        layersFinished = 0
        deferred.removeAll(keepingCapacity: true)
        expectsGradients = false
        layerMissingGradient = nil
        localLossSum = 0
        for index in reduced.indices { reduced[index] = nil }
    }
}
