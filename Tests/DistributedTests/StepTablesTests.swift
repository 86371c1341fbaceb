@testable import Distributed
import Testing
import Training

/// The per-trainer tables of stop 26 against the string-keyed look-ups they replace (written
/// out here as the step computed them before): ``GradientSlotTable`` (which gradient slots a
/// finished layer fills) and ``BatchNormRouting`` (which BatchNormalization layers a step
/// synchronizes), on models with several BatchNormalization layers, layers without
/// gradients, a BatchNormalization layer without `gamma` and a frozen one.
struct StepTablesTests {
    /// Dense → BatchNormalization(synchronized, no gamma) → ReLU → Dropout → Dense →
    /// BatchNormalization(not synchronized, `trainable` as given) → Dense → BatchNormalization.
    static func model(secondTrainable: Bool = true, thirdSynchronized: Bool = false) throws -> Sequential {
        var second = BatchNormalization(synchronized: false)
        second.isTrainable = secondTrainable
        return try Sequential(inputFeatures: 5, [
            Dense(units: 6), BatchNormalization(scale: false, synchronized: true), ActivationLayer(.relu), Dropout(rate: 0.2),
            Dense(units: 4), second, Dense(units: 3, activation: .softmax), BatchNormalization(synchronized: thirdSynchronized),
        ], seed: 3)
    }

    /// The former look-up: the slots whose name is `"<layer>/<variable>"` for the layer's name,
    /// in the layout's order, each with its variable's name.
    static func formerSlots(_ layout: ReductionLayout, layer: String) -> [GradientSlotTable.Entry] {
        layout.gradients.indices.filter { ReductionLayout.split(layout.gradients[$0].name).layer == layer }
            .map { GradientSlotTable.Entry(localName: ReductionLayout.split(layout.gradients[$0].name).variable, slot: $0) }
    }

    @Test func gradientSlotTableMapsEachLayerAsTheNameKeyedLookUp() throws {
        let model = try Self.model()
        let layout = ReductionLayout(model: model)
        let table = GradientSlotTable(layout: layout, layerNames: model.layers.map(\.name))
        var slotsSeen: [Int] = []
        for (index, layer) in model.layers.enumerated() {
            let slots = table.slots(ofLayerAt: index, named: layer.name)
            #expect(slots == Self.formerSlots(layout, layer: layer.name), "layer \(index) \(layer.name)")
            // Each slot's full name is the layer's name and the variable's.
            for entry in slots { #expect(layout.gradients[entry.slot].name == "\(layer.name)/\(entry.localName)") }
            slotsSeen += slots.map(\.slot)
        }
        // Every slot belongs to exactly one layer; the activation and Dropout have none.
        #expect(slotsSeen.sorted() == Array(layout.gradients.indices))
        #expect(table.slots(ofLayerAt: 2, named: model.layers[2].name).isEmpty)
        #expect(table.slots(ofLayerAt: 3, named: model.layers[3].name).isEmpty)
        // The BatchNormalization layer without gamma has beta alone; the others gamma and beta.
        #expect(table.slots(ofLayerAt: 1, named: model.layers[1].name).map(\.localName) == ["beta"])
        #expect(table.slots(ofLayerAt: 5, named: model.layers[5].name).map(\.localName) == ["gamma", "beta"])
        #expect(table.maximumSlotsPerLayer == 2)
    }

    @Test func gradientSlotTableFallsBackToTheNameWhenTheIndexDoesNotCarryIt() throws {
        let model = try Self.model()
        let layout = ReductionLayout(model: model)
        let table = GradientSlotTable(layout: layout, layerNames: model.layers.map(\.name))
        let last = model.layers[6].name
        #expect(table.slots(ofLayerAt: 0, named: last) == Self.formerSlots(layout, layer: last))
        #expect(table.slots(ofLayerAt: 99, named: last) == Self.formerSlots(layout, layer: last))
        #expect(table.slots(ofLayerAt: 0, named: "no_such_layer").isEmpty)
    }

    /// The former routing, rebuilt every step from the layers' flags.
    static func formerRouting(_ model: Sequential, scope: BatchNormStatisticsScope)
        -> (synchronized: Set<String>, perMicroShard: Set<String>, updating: Set<String>) {
        var result: (synchronized: Set<String>, perMicroShard: Set<String>, updating: Set<String>) = ([], [], [])
        for case let layer as BatchNormalization in model.layers {
            if scope.synchronizes(layer) {
                result.synchronized.insert(layer.name)
            } else {
                result.perMicroShard.insert(layer.name)
                if layer.updatesMovingStatistics(in: .training) { result.updating.insert(layer.name) }
            }
        }
        return result
    }

    @Test(arguments: BatchNormStatisticsScope.allCases, [true, false])
    func routingAnswersByIndexAsTheFormerSetsByName(scope: BatchNormStatisticsScope, secondTrainable: Bool) throws {
        let model = try Self.model(secondTrainable: secondTrainable)
        let routing = BatchNormRouting(model: model, scope: scope)
        let former = Self.formerRouting(model, scope: scope)
        #expect(routing.synchronized == former.synchronized)
        #expect(routing.perMicroShard == former.perMicroShard)
        #expect(routing.perMicroShardUpdating == former.updating)
        #expect(routing.drawsRandomNumbers)
        for (index, layer) in model.layers.enumerated() {
            #expect(routing.synchronizes(layerAt: index, named: layer.name) == former.synchronized.contains(layer.name),
                    "layer \(index) \(layer.name)")
            // By name when the index does not carry it.
            #expect(routing.synchronizes(layerAt: (index + 1) % model.layers.count, named: layer.name)
                    == former.synchronized.contains(layer.name))
        }
        #expect(routing.matches(model, scope: scope))
    }

    @Test func routingNoLongerMatchesAModelWithOtherFlagsOrAnotherScope() throws {
        let model = try Self.model()
        let routing = BatchNormRouting(model: model, scope: .perLayer)
        #expect(routing.matches(try Self.model(), scope: .perLayer))
        #expect(!routing.matches(model, scope: .synchronized))
        #expect(!routing.matches(try Self.model(thirdSynchronized: true), scope: .perLayer))
        #expect(!routing.matches(try Self.model(secondTrainable: false), scope: .perLayer))
        #expect(!routing.matches(try Sequential(inputFeatures: 5, [Dense(units: 2)], seed: 1), scope: .perLayer))
        let plain = try Sequential(inputFeatures: 5, [Dense(units: 3), Dense(units: 2)], seed: 1)
        let none = BatchNormRouting(model: plain, scope: .synchronized)
        #expect(none.synchronized.isEmpty && none.perMicroShard.isEmpty && !none.drawsRandomNumbers)
        #expect(!none.synchronizes(layerAt: 0, named: plain.layers[0].name))
    }
}
