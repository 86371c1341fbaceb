import CProcessControl
import Distributed
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The choice of Open MPI's single-copy mechanism: the probe of cross-memory attach (both of its
/// answers), and the setting a launch uses (the environment's value wins, else the probe's).
@Suite(.serialized) struct SingleCopyMechanismTests {
    #if os(Linux)
    /// What the kernel's own settings say about a same-user process_vm_readv between siblings
    /// (the target allows any tracer, as Open MPI's transport does): no seccomp filter on this
    /// process and Yama absent or at scope 0 or 1. Anything else leaves the answer open.
    static var kernelAllowsSameUserAttach: Bool {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let seccomp = status.split(separator: "\n").first { $0.hasPrefix("Seccomp:") }
            .map { $0.split(separator: "\t").last.map(String.init) ?? "" }
        let scope = (try? String(contentsOfFile: "/proc/sys/kernel/yama/ptrace_scope", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return seccomp == "0" && (scope == nil || scope == "0" || scope == "1")
    }

    /// Children of this process (running or not yet reaped) named as the probe names its children.
    static func probeChildrenLeft() -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        let children = tasks.flatMap { task -> [Int32] in
            let text = (try? String(contentsOfFile: "/proc/self/task/\(task)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { Int32($0) }
        }
        return children.filter {
            (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8)) == BW_CROSS_MEMORY_PROBE_NAME + "\n"
        }
    }

    @Test func theProbeReadsASiblingsMemoryWhereTheKernelAllowsItAndLeavesNoProcess() {
        let answer = bw_probe_cross_memory_attach(0)
        if Self.kernelAllowsSameUserAttach {
            #expect(answer == 0, "process_vm_readv failed: \(String(cString: strerror(answer)))")
        }
        #expect(SingleCopyMechanism.choice(probeError: answer) == (answer == 0 ? .cma : .none))
        #expect(Self.probeChildrenLeft().isEmpty)
    }

    @Test func theProbeFailsWhenItsTargetIsGone() {
        // The target ends and is reaped before the read: the read fails (ESRCH), so `none`.
        let answer = bw_probe_cross_memory_attach(1)
        #expect(answer == ESRCH, "\(answer): \(String(cString: strerror(answer)))")
        #expect(SingleCopyMechanism.choice(probeError: answer) == .none)
        #expect(Self.probeChildrenLeft().isEmpty)
    }
    #endif

    @Test func theEnvironmentsValueAlwaysWinsAndIsNotProbed() {
        let variable = SingleCopyMechanism.environmentVariable
        #expect(variable == "OMPI_MCA_btl_vader_single_copy_mechanism")
        var probed = false
        func probe(_ answer: SingleCopyMechanism) -> SingleCopyMechanism { probed = true; return answer }
        #expect(SingleCopyMechanism.setting(environment: [variable: "none"], automatic: probe(.cma)) == "none")
        #expect(SingleCopyMechanism.setting(environment: [variable: "cma"], automatic: probe(.none)) == "cma")
        #expect(SingleCopyMechanism.setting(environment: [variable: "xpmem"], automatic: probe(.cma)) == "xpmem")
        #expect(!probed)
    }

    @Test func withoutAValueTheProbesAnswerDecides() {
        #expect(SingleCopyMechanism.setting(environment: ["OTHER": "none"], automatic: .cma) == "cma")
        #expect(SingleCopyMechanism.setting(environment: [:], automatic: .none) == "none")
        #expect(SingleCopyMechanism.choice(probeError: 0) == .cma)
        #expect(SingleCopyMechanism.choice(probeError: EPERM) == .none)
        #expect(SingleCopyMechanism.choice(probeError: ENOSYS) == .none)
        // The default is the cached probe of this machine.
        #expect(SingleCopyMechanism.setting(environment: [:]) == SingleCopyMechanism.automatic.rawValue)
        #expect(SingleCopyMechanism.automatic == SingleCopyMechanism.choice(probeError: bw_probe_cross_memory_attach(0)))
    }
}
