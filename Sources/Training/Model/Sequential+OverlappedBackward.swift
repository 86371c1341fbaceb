#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import Tensors

extension Sequential {
    /// The backward pass of the Dense layer at `dense` and of the normalization–ReLU pair below
    /// it, with the optimizer's update of the Dense layer and every layer above it
    /// (Sequential+OverlappedStep.swift): one thread computes dX, then the pair's backward
    /// passes; the other computes dW and the bias sums, waits until dX is written (the kernel is
    /// read until then), then updates the variables. Returns the pair's input gradient.
    ///
    /// The layers' variables from `dense` up are moved out of the model for the update (so that
    /// the other thread's reads of the model never meet a write) and moved back after it;
    /// `first` is each layer's first variable index.
    mutating func backwardOverlapped<O: KerasOptimizer>(
        dense d: Int, upstream: Tensor<Float>, tapes: [any Sendable], gradients: inout Gradients,
        first: [Int], update: inout LayerByLayerUpdate, optimizer: O
    ) throws -> (upstream: Tensor<Float>?, next: Int) {
        // The caller checked the tape's type.
        let tape = Dense.tape(fromErased: tapes[d])!
        // Dense.backward's steps, taken apart; the layer's value is dropped before its kernel is updated.
        let (activation, useBias, kernelShape, name) = {
            let layer = layers[d] as! Dense
            return (layer.activation, layer.useBias, layer.kernel.shape, layer.name)
        }()
        guard upstream.shape == tape.output.shape else {
            throw TrainingError.shapeMismatch(layer: name, expected: tape.output.shape, found: upstream.shape)
        }
        var dz = upstream
        activation.backward(output: tape.output, gradient: &dz)
        FreedMemoryRetention.engage()
        let batch = tape.input.shape[0], inputs = kernelShape[0], units = kernelShape[1]
        var denseGradients = gradients.takeReusable(layer: d)
        var dk = denseGradients.reusableBuffer("kernel").flatMap { $0.shape == kernelShape ? $0 : nil } ?? Tensor(zeros: kernelShape)
        var db = useBias ? denseGradients.reusableBuffer("bias") : nil
        // gemm with beta 0 never reads its output, so the input gradient is not zeroed first.
        var dxScalars = [Float](unsafeUninitializedCapacity: batch * inputs) { _, initialized in initialized = batch * inputs }

        var moved = try moveVariablesOut(from: d, gradients: gradients)
        defer { moveVariablesBack(from: d, &moved.values) }
        let kernelIndex = moved.denseNames.firstIndex(of: "kernel") ?? 0
        let biasIndex = moved.denseNames.firstIndex(of: "bias")
        // Addresses taken once: every buffer below stays held (and in place) until the products end.
        let buffers = SideBySideBuffers(
            x: tape.input.withUnsafeBufferPointer { $0.baseAddress! }, dz: dz.withUnsafeBufferPointer { $0.baseAddress! },
            kernel: moved.values[kernelIndex].withUnsafeBufferPointer { $0.baseAddress! },
            kernelGradient: dk.withUnsafeMutableBufferPointer { $0.baseAddress! },
            inputGradient: dxScalars.withUnsafeMutableBufferPointer { $0.baseAddress! })
        let kernelRead = Atomic<Bool>(false)
        var pair: Result<Tensor<Float>??, any Error> = .success(nil)
        DenseMath.sideBySideProducts(buffers, batch: batch, inputs: inputs, units: units, afterInputGradient: {
            kernelRead.store(true, ordering: .releasing)
            let dx = Tensor<Float>(uncheckedShape: tape.input.shape, scalars: dxScalars)
            pair = Result { try backwardNormalizationReLU(reluAt: d - 1, upstream: dx, tapes: tapes, gradients: &gradients) }
        }, afterKernelGradient: {
            if useBias { DenseMath.columnSums(dz, into: &db) }
            var rounds = 0
            while !kernelRead.load(ordering: .acquiring) {
                rounds += 1
                if rounds & 1023 == 0 { sched_yield() }
            }
            for k in moved.values.indices {
                let gradient = moved.gradients[k] ?? (k == biasIndex ? db! : dk)
                update.update(&moved.values[k], index: first[d] + k, gradient: gradient, optimizer: optimizer)
            }
        })
        denseGradients["kernel"] = dk
        denseGradients["bias"] = db
        gradients.store(&denseGradients, layer: d)
        guard let input = try pair.get() else {
            // Not the pair the forward pass ran (cannot happen for the layers it chose): the ordinary passes.
            let dx = Tensor<Float>(uncheckedShape: tape.input.shape, scalars: dxScalars)
            return (dx, d - 1)
        }
        return (input, d - 3)
    }

    /// Moves the trainable variables of the layers from `start` up out of the model (an empty
    /// tensor in their place), with the gradients of those above `start` from `gradients`.
    private mutating func moveVariablesOut(from start: Int, gradients: Gradients) throws
        -> (values: [Tensor<Float>], gradients: [Tensor<Float>?], denseNames: [String])
    {
        var values: [Tensor<Float>] = [], found: [Tensor<Float>?] = [], denseNames: [String] = []
        var missing: String?
        for l in start..<layers.count {
            let name = layers[l].name
            let position = gradients.position(ofLayerAt: l, named: name)
            try layers[l].updateTrainableVariables { localName, value in
                var out = Tensor<Float>(uncheckedShape: [0], scalars: [])
                swap(&out, &value)
                values.append(out)
                if l == start {
                    denseNames.append(localName)
                    found.append(nil)
                } else {
                    let gradient = position.flatMap { gradients.value(inLayerAt: $0, named: localName) }
                    if gradient == nil, missing == nil { missing = name }
                    found.append(gradient)
                }
            }
        }
        if let missing {
            moveVariablesBack(from: start, &values)
            throw TrainingError.missingGradients(layer: missing)
        }
        return (values, found, denseNames)
    }

    /// Puts back what ``moveVariablesOut(from:gradients:)`` took, in the same order.
    private mutating func moveVariablesBack(from start: Int, _ values: inout [Tensor<Float>]) {
        var k = 0
        for l in start..<layers.count {
            // Dense's and BatchNormalization's updates are in place and never throw.
            try? layers[l].updateTrainableVariables { _, value in
                swap(&value, &values[k])
                k += 1
            }
        }
    }
}
