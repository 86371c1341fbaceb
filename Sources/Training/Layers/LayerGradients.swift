import Tensors

/// The gradients one backward pass of one layer produced, by the local names of its
/// trainable variables (`kernel`, `bias`), in the order the layer stored them.
///
/// A layer may reuse last step's storage (``reusableBuffer(_:)``), so that steady-state
/// training allocates no gradient tensors; only what the layer stores in this pass is part
/// of the value.
///
/// ```swift
/// var gradients = LayerGradients()
/// gradients["bias"] = Tensor([0.5, -1])
/// print(gradients.names, gradients["bias"]?.shape ?? [])   // ["bias"] [2]
/// ```
public struct LayerGradients: Sendable, Equatable {
    /// Local variable names, in the order the layer stored them.
    public private(set) var names: [String] = []
    private var values: [Tensor<Float>] = []
    /// Last step's gradients, handed out once each by ``reusableBuffer(_:)``: parallel arrays
    /// searched by name, since a layer has a handful of variables (a dictionary would hash every
    /// name every step).
    private var spareNames: [String] = []
    private var spareValues: [Tensor<Float>] = []

    /// No gradients.
    public init() {}

    /// Starts a pass that may reuse `previous`'s storage. The arrays themselves are kept too
    /// (emptied, with their capacity), so a steady-state pass allocates no bookkeeping.
    init(reusing previous: consuming LayerGradients) {
        // Swapped, not copied: a second reference would make the emptying below reallocate.
        swap(&spareNames, &previous.names)
        swap(&spareValues, &previous.values)
        swap(&names, &previous.spareNames)
        swap(&values, &previous.spareValues)
        names.removeEachKeepingCapacity()
        values.removeEachKeepingCapacity()
    }

    /// The gradient of a variable by local name; setting nil removes it.
    public subscript(localName: String) -> Tensor<Float>? {
        get { names.firstIndex(of: localName).map { values[$0] } }
        set {
            let index = names.firstIndex(of: localName)
            switch (index, newValue) {
            case let (index?, value?): values[index] = value
            case let (index?, nil):
                names.remove(at: index)
                values.remove(at: index)
            case let (nil, value?):
                names.append(localName)
                values.append(value)
            case (nil, nil): break
            }
        }
    }

    /// Lets `body` change each stored gradient in place, in ``names``' order: a gradient whose
    /// storage nothing else holds is not copied (a reducer adds it up across processes where
    /// the backward pass wrote it).
    public mutating func updateEach(_ body: (_ localName: String, _ value: inout Tensor<Float>) throws -> Void) rethrows {
        for index in values.indices { try body(names[index], &values[index]) }
    }

    /// The gradient at `index` in ``names``' order.
    func value(at index: Int) -> Tensor<Float> { values[index] }

    /// Replaces the gradient at `index` in ``names``' order, keeping its name.
    mutating func setValue(_ value: Tensor<Float>, at index: Int) { values[index] = value }

    /// Lets `body` change the gradient at `index` in ``names``' order in place.
    mutating func updateValue(at index: Int, _ body: (inout Tensor<Float>) -> Void) { body(&values[index]) }

    /// Last step's gradient of `localName`, moved out so the caller holds the only
    /// reference and can overwrite it in place; nil when there is none.
    public mutating func reusableBuffer(_ localName: String) -> Tensor<Float>? {
        guard let index = spareNames.firstIndex(of: localName) else { return nil }
        // The last one (a layer's last variable) without `remove(at:)`'s general shift.
        if index == spareNames.count - 1 {
            spareNames.removeLast()
            return spareValues.removeLast()
        }
        spareNames.remove(at: index)
        return spareValues.remove(at: index)
    }

    /// Drops the buffers the pass did not reuse (keeping the arrays' capacity for the next pass).
    mutating func discardSpareBuffers() {
        spareNames.removeEachKeepingCapacity()
        spareValues.removeEachKeepingCapacity()
    }

    /// Whether no gradient is stored.
    public var isEmpty: Bool { names.isEmpty }

    /// Equal names and values; reusable buffers do not count.
    public static func == (lhs: LayerGradients, rhs: LayerGradients) -> Bool {
        lhs.names == rhs.names && lhs.values == rhs.values
    }
}

extension Array {
    /// `removeAll(keepingCapacity: true)` for the few elements a layer's gradients hold: that
    /// goes through the standard library's general range replacement (about 110 instructions a
    /// call, eight calls a step in a four-layer model), while removing the last element is a
    /// few instructions.
    fileprivate mutating func removeEachKeepingCapacity() {
        while !isEmpty { removeLast() }
    }
}
