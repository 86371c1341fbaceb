import CProcessControl

/// Open MPI's shared-memory single-copy mechanism (the `btl_vader_single_copy_mechanism`
/// setting), chosen the way ``automatic`` describes: `cma` where this machine allows it,
/// `none` where it does not, and never a choice that makes Open MPI abort.
///
/// Open MPI's default, `cma` (Linux cross-memory attach), copies each large message once,
/// straight from the sending rank's memory; containers that forbid it (seccomp blocking
/// `process_vm_readv`, Yama's `ptrace_scope` 2 or 3 without `CAP_SYS_PTRACE`) make a job abort
/// with a read error. `none` copies every message twice through shared buffers and runs
/// everywhere.
///
/// ```swift
/// import Distributed
///
/// let value = SingleCopyMechanism.setting(environment: ["OMPI_MCA_btl_vader_single_copy_mechanism": "none"])
/// // "none": a value the environment sets is never overridden.
/// ```
public enum SingleCopyMechanism: String, Sendable, CaseIterable {
    /// Two copies per message through shared buffers: works in every container.
    case none
    /// Linux cross-memory attach: one copy per message, where `process_vm_readv` between ranks works.
    case cma

    /// The environment variable through which `mpirun` and its ranks read the setting.
    public static let environmentVariable = "OMPI_MCA_btl_vader_single_copy_mechanism"

    /// `cma` when cross-memory attach between two sibling processes of this user works on this
    /// machine, else `none`. Probed once per process, on first use, in a few milliseconds
    /// (two short-lived child processes, both reaped before it returns).
    public static var automatic: SingleCopyMechanism { probedAutomatic }

    private static let probedAutomatic = choice(probeError: bw_probe_cross_memory_attach(0))

    /// The mechanism for a probe's answer: `cma` for 0 (the read worked), `none` for an errno value.
    public static func choice(probeError: Int32) -> SingleCopyMechanism {
        probeError == 0 ? .cma : .none
    }

    /// The value of ``environmentVariable`` a launch uses: the one `environment` sets, whatever
    /// it is (the user's choice always wins, and the probe does not run), else `automatic`.
    public static func setting(environment: [String: String],
                               automatic: @autoclosure () -> SingleCopyMechanism = SingleCopyMechanism.automatic) -> String {
        environment[environmentVariable] ?? automatic().rawValue
    }
}
