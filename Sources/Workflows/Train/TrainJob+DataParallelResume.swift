import Datasets
import Foundation
import Training

extension TrainJob {
    /// Refuses a resume whose pipeline state data-parallel training would not continue.
    ///
    /// A checkpoint of a single-process run records where its pipeline stood
    /// (`iteratorState`); data-parallel training ignores that state and continues at the
    /// snapshot's epoch and step in its own order: all rows shuffled with ``seed`` (the default
    /// shuffle of a plain run), or the file order when ``shuffleBuffer`` is 0, in batches of
    /// ``batchSize``, over the rows ``validationSplit`` leaves for training. That is the same
    /// position only if the checkpointed run read this order.
    /// The state is therefore restored into the pipeline a plain run of this job would read in
    /// that order, whose stages check their kinds and settings (a buffered shuffle, no shuffle,
    /// another seed, batch size or row count); a state they refuse is
    /// ``WorkflowError/invalidSetting(file:setting:problem:)`` for ``resume``, instead of
    /// training on other rows than the run the checkpoint came from. Checkpoints written by
    /// data-parallel training hold no pipeline state and pass.
    func requireDataParallelPosition(_ snapshot: TrainingSnapshot?, data: TrainingData) throws {
        guard let state = snapshot?.iteratorState else { return }
        let order: TrainingData.Order = shuffleBuffer == 0 ? .sequential : .shuffled
        let (pipeline, _) = try data.pipelines(batchSize: batchSize, order: order, seed: seed, validationSplit: validationSplit)
        do {
            _ = try pipeline.makeIterator(resumingFrom: state)
        } catch {
            let reason = (error as? any LocalizedError)?.errorDescription ?? "\(error)"
            throw WorkflowError.invalidSetting(
                file: resume?.path, setting: .resume,
                problem: "the checkpoint holds the pipeline state of a single-process run, which data-parallel training cannot "
                    + "continue: \(reason); resume it with that run's --batch-size, --seed and shuffle, or as a single process")
        }
    }
}
