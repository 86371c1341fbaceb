import Tensors

extension OptimizerOptions {
    /// Whether each variable's update needs its own gradient only, so that a training step may
    /// update a layer as soon as its gradients are final, before the layers below it have theirs
    /// (``Sequential``'s overlapped step). Not with gradient accumulation (a micro-step updates
    /// nothing, and the accumulated mean needs the whole cycle's bookkeeping) nor with any
    /// clipping (`global_clipnorm` needs every gradient's norm first; `clipnorm` and `clipvalue`
    /// are per variable but kept on the ordinary path, which is where their order is tested).
    /// Weight decay and the EMA are per variable and stay allowed.
    var updatesEachVariableAlone: Bool {
        gradientAccumulationSteps == nil && (globalClipnorm ?? 0) <= 0 && (clipnorm ?? 0) <= 0 && (clipvalue ?? 0) <= 0
    }
}

/// One optimizer update taken a variable at a time while the backward pass still runs: the plan
/// and the slot buffers, moved out of the store until ``OptimizerCore/finish(_:)``. Each variable
/// goes through ``OptimizerCore/update(_:gradient:plan:optimizer:slots:)``, the very function
/// the ordinary update calls in its second pass, so the bits are the same whatever the order.
struct LayerByLayerUpdate {
    let plan: OptimizerCore.Plan
    /// By variable index (``Sequential/trainableVariableNames`` order).
    var slots: [[Tensor<Float>]]

    /// Updates the variable at `index` from its final gradient.
    mutating func update<O: KerasOptimizer>(_ value: inout Tensor<Float>, index: Int, gradient: Tensor<Float>, optimizer: O) {
        OptimizerCore.update(&value, gradient: gradient, plan: plan, optimizer: optimizer, slots: &slots[index])
    }
}

extension OptimizerCore {
    /// Starts an update of variables shaped `shapes` taken one at a time; nil when the ordinary
    /// update must run instead: options that need every gradient first
    /// (``OptimizerOptions/updatesEachVariableAlone``), slots not laid out yet (the first step,
    /// a restored state, changed options) or laid out for other shapes. Nothing changes when nil.
    mutating func beginLayerByLayerUpdate<O: KerasOptimizer>(_ optimizer: O, shapes: [[Int]]) -> LayerByLayerUpdate? {
        guard optimizer.options.updatesEachVariableAlone else { return nil }
        let (layout, cached) = layoutCache.layout(for: optimizer)
        prepareStore(layout, cached: cached)
        guard store!.needsPreparation == false else { return nil }
        var slots = store!.take()
        let matches = slots.count == shapes.count
            && shapes.indices.allSatisfy { slots[$0].isEmpty || slots[$0][0].shape == shapes[$0] }
        guard matches else {
            store!.put(slots)
            return nil
        }
        let plan = Self.plan(optimizer, layout: layout, iterations: iterations, gradients: [], slots: &slots,
                             scalars: &store!.scalars, fusing: fusesAdam)
        return LayerByLayerUpdate(plan: plan, slots: slots)
    }

    /// Puts the slots back and counts the update (what the ordinary update does after its last variable).
    mutating func finish(_ update: consuming LayerByLayerUpdate) {
        store!.put(update.slots)
        iterations += 1
    }

    /// Puts the slots back without counting an update: the step failed before its end.
    mutating func abandon(_ update: consuming LayerByLayerUpdate) {
        store!.put(update.slots)
    }
}
