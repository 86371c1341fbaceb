import ArgumentParser
import Batchwise
import CProcessControl
import Distributed
import Foundation
import Experiments
import Workflows
#if canImport(Glibc)
import Glibc
#endif

/// `batchwise train`: trains a model built from `--layers` or a `.json` architecture, fine-tunes
/// a model file or resumes a native checkpoint on HDF5 data, saves in the format the `--save`
/// extension names and prints the final weights' SHA-256 (as `batchwise experiment` does). All logic is in `TrainJob`; the options,
/// one group per concern, are in TrainOptions.swift.
///
/// ```
/// batchwise train --layers "batch_normalization,dense:8:sigmoid,batch_normalization,dense:1:sigmoid" --inputs 1 \
///     --data d.h5 --loss binary_crossentropy --optimizer adam --seed 7 --save new.keras
/// batchwise train --model m.keras --data d.h5 --loss binary_crossentropy --optimizer adam \
///     --epochs 5 --save out.h5 --checkpoint run.h5 --every 100
/// batchwise train --resume run.h5 --data d.h5 --loss binary_crossentropy --epochs 5 --save out.h5
/// ```
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a new model, fine-tune a model or resume a native checkpoint on HDF5 data.",
        discussion: """
        Examples (the --help examples are run by the tests):

          batchwise train --layers "batch_normalization,dense:8:sigmoid,\\
        batch_normalization,dense:1:sigmoid" --inputs 1 --data d.h5 \\
            --loss binary_crossentropy --optimizer adam --seed 7 --save new.keras
          batchwise train --model config.json --data d.h5 --seed 7 \\
            --loss binary_crossentropy --optimizer sgd --save json.keras
          batchwise train --model new.keras --data d.h5 --epochs 2 --save tuned.h5
          batchwise train --model new.keras --data d.h5 --optimizer adamw \\
            --weight-decay 0.01 --global-clipnorm 1 --save adamw.keras

        A new model (--layers with --inputs, or --model with a Keras model.to_json() architecture) gets \
        Keras's initial weight distributions drawn from --seed: Glorot-uniform Dense kernels, zero biases, \
        BatchNormalization gamma and moving variance ones, beta and moving mean zeros. The same seed gives the \
        same weights; the weights sha256 printed at the end compares runs.

        Image models: --inputs takes the shape of one example, and the image items of --layers build a CNN \
        over NHWC data, for instance --layers "conv2d:8:3x3:same:relu,batch_normalization,max_pooling2d:2,\
        flatten,dense:10:softmax" --inputs 8x8x1 on features stored as [rows, 8, 8, 1]. Features stored as rows \
        of 64 values train the same network with --inputs 64 and reshape:8x8x1 as the first item.

        A .keras or legacy .h5 model trains with its compile config as Keras's fit after load_model does: its \
        optimizer (hyper-parameters and saved state) and loss (with from_logits). --optimizer and --loss given on \
        the command line override them; --learning-rate, --weight-decay and a clipping option (--clipnorm, --clipvalue, \
        --global-clipnorm) given without --optimizer override only that setting of the file's optimizer, keeping its \
        other hyper-parameters and state. An optimizer or loss in the file that Batchwise does not have is an error \
        naming it: give --optimizer/--loss instead.

        --optimizer takes every optimizer Batchwise implements: sgd (with --momentum, --nesterov), adam, adamw, \
        rmsprop (with --momentum), adagrad, nadam, lion, each with Keras's defaults for what is not given. The saved \
        .keras compile config and native checkpoint record it with these settings.

        The data is streamed from the files batch by batch, never loaded whole. Its shapes are checked before \
        training (an empty dataset, features that are not [rows, model inputs], targets not shaped for the loss); \
        its values while the first epoch reads them: a sparse label outside 0..<classes or any NaN/infinity in \
        features or targets is an error naming the file, dataset, row and column. A loss that becomes NaN or infinite \
        stops training with an error (nothing is saved; the last --checkpoint stays intact).

        Callbacks as Keras's: --early-stopping-patience N stops when the monitored log (--early-stopping-monitor, \
        default val_loss with --validation-split, else loss) has not improved by --early-stopping-min-delta for N epochs \
        and prints "Epoch N: early stopping"; --restore-best-weights ends with the best epoch's weights (saved and \
        hashed). --reduce-lr-on-plateau-patience N multiplies the learning rate by --reduce-lr-factor. --csv-log FILE \
        writes a row per epoch (rank 0 only); --resume appends to it. Their state is in every checkpoint, so a resume \
        stops where the uninterrupted run stops; a resume with other settings than the checkpointed run's is refused.

        Data-parallel training on Open MPI: started as mpirun -np 2 batchwise train ..., every process is a rank \
        that reads only its rows of each step; --batch-size is the global batch over all ranks, rank 0 alone prints \
        progress and writes --checkpoint and --save, and every rank holds the same weights. --ranks 2 runs the same \
        command under mpirun on this machine (and prints the mpirun command). --reduction ordered (the default) \
        trains bitwise the same model on 1, 2, 4 or 8 ranks at the same --batch-size; fast is quicker across many \
        nodes and equal within rounding. The data is shuffled globally or not at all (no --shuffle-buffer). \
        --validation-split holds out the rows a single-process run holds out; the ranks score them after every \
        epoch and rank 0 prints val_loss and val_accuracy as a single process does. A failed rank ends the job \
        with an error naming the rank (docs/distributed.md).
        """
    )

    @OptionGroup var start: StartOptions
    @OptionGroup var architecture: ArchitectureOptions
    @OptionGroup var data: TrainDataOptions
    @OptionGroup var objective: ObjectiveOptions
    @OptionGroup var schedule: ScheduleOptions
    @OptionGroup var output: TrainOutputOptions
    @OptionGroup(title: "Callbacks (Keras's EarlyStopping, ReduceLROnPlateau, CSVLogger)") var callbacks: CallbackOptions
    @Flag(help: "No progress output.")
    var quiet = false
    @OptionGroup var isolation: IsolationOptions
    @OptionGroup(title: "Data-parallel training") var parallel: DataParallelOptions

    func validate() throws {
        guard !start.files.isEmpty || architecture.layers != nil else {
            throw ValidationError("give --layers SPEC --inputs SHAPE to train a new model, --model FILE to fine-tune or --resume CHECKPOINT to continue")
        }
        guard !data.data.isEmpty else { throw ValidationError("give --data FILE (or several files with the same layout)") }
    }

    func run() throws {
        var job = TrainJob(data: URL(fileURLWithPath: data.data.first ?? ""), output: URL(fileURLWithPath: output.save))
        for group in [start, architecture, data, objective, schedule, output, callbacks] as [any TrainJobOptions] { group.apply(to: &job) }
        if let ranks = parallel.ranks {
            var status: Int32 = 0
            try CommandFailure.reporting(prefix: "batchwise train") {
                try job.checkDataParallelSettings()
                status = try RankLauncher.run(ranks: ranks, commandLine: CommandLine.arguments)
            }
            if status != 0 { throw ExitCode(status) }
            return
        }
        if DataParallelOptions.launchedByMPI {
            try trainAsRank(job)
            return
        }
        try CommandFailure.reporting(prefix: "batchwise train") {
            try withStartingPoint(job) { job in
                let trained = try job.runReturningOutcome(progress: quiet ? .quiet : .automatic)
                if !quiet { for line in trained.earlyStoppingLines { print(line) } }
                print("weights sha256: \(SeedExperiment.digest(of: trained.model))")
            }
        }
    }

    /// Runs `body` with `job` reading its starting point safely: a model built here from
    /// `--layers` / a `.json` architecture reads no HDF5 file; otherwise a child process reads the
    /// user's model/checkpoint and writes what training starts from (model, optimizer state,
    /// position) as a Batchwise-written checkpoint, and `body`'s job reads only that copy.
    private func withStartingPoint(_ job: TrainJob, _ body: (TrainJob) throws -> Void) throws {
        guard !job.buildsModel else { return try body(job) }
        try IsolatedProbe.withLoadedCopy(.train, arguments: start.arguments, files: start.files, copyName: "start.h5",
                                         options: isolation) { copy in
            var job = job
            job.preparedStart = copy
            try body(job)
        }
    }

    /// One rank of `mpirun -np N batchwise train ...`: tied to its launcher, its errors name the rank.
    private func trainAsRank(_ job: TrainJob) throws {
        // mpirun (or orted) started this rank: end with it, however it ends.
        bw_die_with_parent(getppid())
        let rank = (try? LaunchEnvironment(ProcessInfo.processInfo.environment))?.announcedRank
        do {
            // The isolated probe runs before MPI is initialised: no fork after MPI_Init.
            var started = false
            do {
                try withStartingPoint(job) { job in
                    started = true
                    try DataParallelTrain.run(.success(job), options: parallel, quiet: quiet)
                }
            } catch where !started && !(error is ExitCode) {
                // The starting point was unreadable (on every rank, as a rule): reported with the other ranks, once.
                try DataParallelTrain.run(.failure(error), options: parallel, quiet: quiet)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            let line = DataParallelTrain.message(error, rank: rank).replacingOccurrences(of: "\n", with: " ")
            FileHandle.standardError.write(Data("batchwise train: \(line)\n".utf8))
            throw ExitCode.failure
        }
    }
}
