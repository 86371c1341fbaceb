import ArgumentParser

/// What the isolated probe (`batchwise probe-file KIND`) reads, as the parent asks for it.
enum ProbeKind: String, CaseIterable, ExpressibleByArgument {
    /// Render the file as `batchwise inspect` prints it.
    case inspect
    /// Load a model file (`predict --model`), optionally writing a clean `.keras` copy.
    case model
    /// Load `train`'s `--model` / `--resume` files, optionally writing the prepared start.
    case train
}

/// How the probe child ended on its own, as its exit status: the protocol between
/// ``ProbeFileCommand`` (the child) and ``IsolatedProbe`` (the parent). A bad command line is
/// ArgumentParser's usage error instead, which the parent never causes.
enum ProbeStatus: Int32 {
    /// Done; a requested copy was written.
    case done = 0
    /// A typed error; its one line is on stderr.
    case failed = 1
    /// The files loaded but the copy could not be written: the parent reads the originals.
    case noCopy = 3
    /// `inspect --strict`: printed, but some objects could not be read (the summary is on stderr).
    case strictFailure = 4
}
