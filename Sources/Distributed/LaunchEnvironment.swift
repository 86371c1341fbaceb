/// How this process was started, read from the variables Open MPI's launcher sets.
///
/// `mpirun` (and `srun --mpi=pmix`) set `OMPI_COMM_WORLD_SIZE` / `OMPI_COMM_WORLD_RANK` or
/// `PMIX_RANK` in every rank's environment. Without them the process was started on its own:
/// it is a world of one and MPI is never initialised, so a plain `swift run` or a unit test
/// needs no MPI set-up and Open MPI prints nothing (a singleton `MPI_Init` would start a
/// helper daemon).
public struct LaunchEnvironment: Equatable, Sendable {
    /// True when an MPI launcher started this process.
    public let launchedByMPI: Bool
    /// The rank the launcher announced, if it announced one.
    public let announcedRank: Int?
    /// The world size the launcher announced, if it announced one.
    public let announcedSize: Int?

    /// Reads `environment` (a process's variables, e.g. `ProcessInfo.processInfo.environment`).
    public init(_ environment: [String: String]) throws {
        announcedSize = try Self.count(environment, "OMPI_COMM_WORLD_SIZE", minimum: 1)
        announcedRank = try Self.count(environment, "OMPI_COMM_WORLD_RANK", minimum: 0)
            ?? Self.count(environment, "PMIX_RANK", minimum: 0)
        launchedByMPI = announcedSize != nil || announcedRank != nil
        if let rank = announcedRank, let size = announcedSize, rank >= size {
            throw DistributedError.inconsistentLaunch(
                variable: "OMPI_COMM_WORLD_RANK", value: String(rank), reason: "not below OMPI_COMM_WORLD_SIZE=\(size)")
        }
    }

    private static func count(_ environment: [String: String], _ variable: String, minimum: Int) throws -> Int? {
        guard let text = environment[variable] else { return nil }
        guard let value = Int(text), value >= minimum else {
            throw DistributedError.inconsistentLaunch(variable: variable, value: text, reason: "not an integer >= \(minimum)")
        }
        return value
    }
}
