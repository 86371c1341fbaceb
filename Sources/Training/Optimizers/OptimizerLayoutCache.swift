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
            // The cached layout is checked and given the current options in place (a mutating
            // call through `?.`): binding it or unwrapping it with `!` copied it each time, a
            // retain and a release of each of its lists.
            if groups == self.groups, layout?.refresh(for: optimizer) == true { return (layout!, true) }
            let fresh = optimizer.slotLayout
            self.groups = groups
            layout = fresh
            storeKey = nil
            return (fresh, false)
        }

        static func sameScalars(_ a: [(name: String, initial: Float)], _ b: [(name: String, initial: Float)]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.initial.bitPattern == $1.initial.bitPattern }
        }

        /// Whether each rule slot starts at the cached value (Adagrad's depends on its settings).
        static func sameInitialValues<O: KerasOptimizer>(_ optimizer: O, _ cached: Layout) -> Bool {
            zip(cached.ruleSlots, cached.initialValues).allSatisfy {
                optimizer.initialValue(ofSlot: $0).bitPattern == $1.bitPattern
            }
        }

        /// A cache never makes two optimizer states differ.
        static func == (lhs: LayoutCache, rhs: LayoutCache) -> Bool { true }
    }
}

extension OptimizerCore.Layout {
    /// Whether `optimizer` describes this layout's rule slots and scalars (its slot groups
    /// compared by the caller); if so, takes its current options.
    mutating func refresh<O: KerasOptimizer>(for optimizer: O) -> Bool {
        guard OptimizerCore.LayoutCache.sameScalars(optimizer.scalarSlots, scalars),
              OptimizerCore.LayoutCache.sameInitialValues(optimizer, self) else { return false }
        options = optimizer.options
        return true
    }
}
