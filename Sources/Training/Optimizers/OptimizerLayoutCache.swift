import Tensors

extension OptimizerCore {
    /// The slot layout of an optimizer's last update, reused while the optimizer describes the
    /// same slots: ``KerasOptimizer/slotLayout`` builds its name and value lists on every call
    /// (four allocations), and laying out the store again compared lists of slot names built
    /// for the purpose, on every step of a small model.
    ///
    /// What the layout is made of is compared, not assumed: the slot groups (for Adam and
    /// AdamW one constant list, so equal by identity), each slot's initial value and the
    /// optimizer-wide scalars. The options are taken from the optimizer on every call (a
    /// learning rate or EMA setting changed between steps counts at once).
    struct LayoutCache: Sendable, Equatable {
        /// What decides a store's slot names besides the rule's slots.
        struct StoreKey: Equatable {
            var useEMA: Bool
            var accumulates: Bool
        }

        private var groups: [[String]] = []
        private var layout: Layout?
        /// The options that the store was last laid out for (``OptimizerCore/prepareStore(_:cached:)``).
        var storeKey: StoreKey?

        /// The layout of `optimizer` and whether its slots are the cached ones.
        mutating func layout<O: KerasOptimizer>(for optimizer: O) -> (layout: Layout, cached: Bool) {
            let groups = optimizer.slotGroups
            if let cached = layout, groups == self.groups, Self.sameScalars(optimizer.scalarSlots, cached.scalars),
               Self.sameInitialValues(optimizer, cached) {
                let current = Layout(ruleSlots: cached.ruleSlots, initialValues: cached.initialValues,
                                     scalars: cached.scalars, options: optimizer.options)
                return (current, true)
            }
            let fresh = optimizer.slotLayout
            self.groups = groups
            layout = fresh
            storeKey = nil
            return (fresh, false)
        }

        private static func sameScalars(_ a: [(name: String, initial: Float)], _ b: [(name: String, initial: Float)]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.initial.bitPattern == $1.initial.bitPattern }
        }

        /// Whether each rule slot starts at the cached value (Adagrad's depends on its settings).
        private static func sameInitialValues<O: KerasOptimizer>(_ optimizer: O, _ cached: Layout) -> Bool {
            zip(cached.ruleSlots, cached.initialValues).allSatisfy {
                optimizer.initialValue(ofSlot: $0).bitPattern == $1.bitPattern
            }
        }

        /// A cache never makes two optimizer states differ.
        static func == (lhs: LayoutCache, rhs: LayoutCache) -> Bool { true }
    }
}
