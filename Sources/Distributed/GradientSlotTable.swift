/// Which gradient slots of a ``ReductionLayout`` each layer of a model fills, by the layer's
/// index, with each slot's local variable name (`kernel`, `bias`): built once per trainer, so
/// that ``OverlappedGradientReduction`` finds a finished layer's slots without building
/// `"<layer>/<variable>"` names and hashing them on every step (stop 26).
///
/// A slot belongs to the layer its name names (`"<layer>/<variable>"`, split at the last
/// slash, as ``ReductionLayout/split(_:)`` does); layers with no trainable variable have none.
/// Two layers of the same name (which a model refuses anyway) would share their slots, as the
/// name-keyed look-up did.
struct GradientSlotTable {
    struct Entry: Equatable {
        /// The variable's name within its layer.
        var localName: String
        /// Its index in the layout's `gradients`.
        var slot: Int
    }

    /// The model's layers' names, by index.
    let layerNames: [String]
    /// Each layer's slots, by the layer's index, in the layout's order.
    private let byIndex: [[Entry]]
    /// The same by layer name, for a look-up whose index does not carry the recorded name.
    private let byName: [String: [Entry]]
    /// The most slots one layer has.
    let maximumSlotsPerLayer: Int

    init(layout: ReductionLayout, layerNames: [String]) {
        var byName: [String: [Entry]] = [:]
        for (index, slot) in layout.gradients.enumerated() {
            let (layer, variable) = ReductionLayout.split(slot.name)
            byName[layer, default: []].append(Entry(localName: variable, slot: index))
        }
        self.layerNames = layerNames
        self.byName = byName
        self.byIndex = layerNames.map { byName[$0] ?? [] }
        self.maximumSlotsPerLayer = byName.values.map(\.count).max() ?? 0
    }

    /// The slots of the layer at `index`, named `name`: by index when that is the name recorded
    /// there (a comparison of the same string, no hashing), else by name; none for a layer
    /// without trainable variables.
    func slots(ofLayerAt index: Int, named name: String) -> [Entry] {
        if layerNames.indices.contains(index), layerNames[index] == name { return byIndex[index] }
        return byName[name] ?? []
    }
}
