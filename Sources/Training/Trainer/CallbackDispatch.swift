/// How `fit` calls its callbacks, in one place for `Trainer.fit` and the data-parallel `fit`
/// (Distributed), so that both call the same methods in the same order: each callback in list
/// order, on a copy written back after the call (a `snapshot` taken by a later callback holds
/// the earlier ones' new states), and at an epoch's end the ``CheckpointCallback``s' saves after
/// every callback has judged the epoch (`EpochEndSaver`).
///
/// `snapshot(callbacks)` builds the caller's ``TrainingSnapshot`` with the states of `callbacks`.
extension Array where Element == any TrainingCallback {
    /// ``TrainingCallback/trainingWillBegin()`` of each, in order.
    package mutating func trainingWillBegin() throws {
        for index in indices { try self[index].trainingWillBegin() }
    }

    /// ``TrainingCallback/stepDidEnd(_:snapshot:)`` of each; the reason of the last `.stop`, if any.
    /// (A learning-rate change decided after a step is not applied, as before: ``ReduceLROnPlateau`` decides per epoch.)
    package mutating func stepDidEnd(_ event: StepEvent,
                                     snapshot: ([any TrainingCallback]) -> TrainingSnapshot) throws -> String? {
        var stopReason: String?
        for index in indices {
            // Called on a copy, so that the snapshot closure may read every callback's state.
            var callback = self[index]
            let decision = try callback.stepDidEnd(event) { snapshot(self) }
            self[index] = callback
            if case let .stop(reason) = decision { stopReason = reason }
        }
        return stopReason
    }

    /// ``TrainingCallback/epochDidEnd(_:snapshot:)`` of each (an `EpochEndSaver` judges the epoch
    /// instead and saves once all have judged it), `apply` with each decision (a learning-rate
    /// change); the first `.stop`'s reason, if there was none before (`stopReason`).
    package mutating func epochDidEnd(_ event: EpochEvent, stopReason: String?,
                                      snapshot: ([any TrainingCallback]) -> TrainingSnapshot,
                                      apply: (CallbackDecision) throws -> Void) throws -> String? {
        var stopReason = stopReason
        var savesDue: [Int] = []
        for index in indices {
            var callback = self[index]
            var decision = CallbackDecision.proceed
            if var saver = callback as? any EpochEndSaver {
                if try saver.judgeEpoch(event) { savesDue.append(index) }
                callback = saver
            } else {
                decision = try callback.epochDidEnd(event) { snapshot(self) }
            }
            self[index] = callback
            if case let .stop(reason) = decision, stopReason == nil { stopReason = reason }
            try apply(decision)
        }
        // Saved once every callback has judged the epoch: the snapshot holds all their states after it.
        if !savesDue.isEmpty {
            let taken = snapshot(self)
            for index in savesDue {
                guard var saver = self[index] as? any EpochEndSaver else { continue }
                try saver.saveJudgedEpoch(taken)
                self[index] = saver
            }
        }
        return stopReason
    }

    /// ``TrainingCallback/trainingDidStop(_:snapshot:)`` of each, in order.
    package mutating func trainingDidStop(_ event: StopEvent, snapshot: ([any TrainingCallback]) -> TrainingSnapshot) throws {
        for index in indices {
            var callback = self[index]
            try callback.trainingDidStop(event) { snapshot(self) }
            self[index] = callback
        }
    }

    /// ``TrainingCallback/stopReason(resumingAt:)`` of each: the first reason given, if any
    /// (the stop of a resumed run that had stopped at `position`).
    package func stopReason(resumingAt position: ResumePosition) -> String? {
        lazy.compactMap { $0.stopReason(resumingAt: position) }.first
    }

    /// ``TrainingCallback/trainingDidEnd(model:)`` of each: the model the last one to hand one back gave, else `model`.
    package mutating func trainingDidEnd(model: Sequential) -> Sequential {
        var model = model
        for index in indices {
            if let replacement = self[index].trainingDidEnd(model: model) { model = replacement }
        }
        return model
    }
}
