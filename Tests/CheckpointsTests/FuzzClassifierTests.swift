import Testing

/// The fuzz campaign's verdicts: which CLI endings count as clean and which in-process
/// crashes are blamed on libhdf5 (tolerated) rather than Batchwise (failed).
@Suite struct FuzzClassifierTests {
    @Test func onlyExitZeroOrOneTypedLineIsACleanCLIEnding() {
        func verdict(_ status: Int32, signal: Int32? = nil, timedOut: Bool = false, _ stderr: String) -> (String, Bool) {
            let (name, failure) = FuzzCLI.classify(ChildProcess(status: status, signal: signal, timedOut: timedOut, stderr: stderr), command: "inspect")
            return (name, failure == nil)
        }
        #expect(verdict(0, "") == ("ok", true))
        #expect(verdict(1, "batchwise inspect: HDF5 open failed for x.h5: bad\n") == ("typed-error", true))
        #expect(verdict(1, "batchwise inspect: libhdf5 crashed (signal 11, SIGSEGV) while reading x.h5; ...\n") == ("probe-caught-crash", true))
        #expect(verdict(1, "batchwise inspect: libhdf5 did not finish reading x.h5 within 4 s; ...\n") == ("probe-caught-hang", true))
        #expect(verdict(11, signal: 11, "") == ("crashed", false))
        #expect(verdict(9, signal: 9, timedOut: true, "") == ("hung", false))
        #expect(verdict(1, "HDF5-DIAG: Error detected\nbatchwise inspect: x\n") == ("unclean", false))
        #expect(verdict(1, "batchwise predict: wrong command\n") == ("unclean", false))
        #expect(verdict(0, "warning\n") == ("ok-with-output", false))
    }

    @Test func crashesAreBlamedOnTheImageOfTheCrashingFrame() {
        func report(_ frame: String) -> String {
            "*** Program crashed: Bad pointer dereference ***\n\nThread 0 \"CheckpointFuzzH\" crashed:\n\n  \(frame)\n...\n"
        }
        #expect(FuzzCLI.crashOwner(report("0  0x00007f52ee664c1d <unknown> in libhdf5_serial.so.103.3.1")) == "libhdf5")
        #expect(FuzzCLI.crashOwner(report("0      0x00007fb495b97beb __memmove_avx_unaligned_erms + 363 in libc.so.6")) == "libc-memcpy")
        #expect(FuzzCLI.crashOwner(report("0  0x0000562bd61b7a10 DatasetLayout.init + 12 in CheckpointFuzzHelper")) == "swift")
        #expect(FuzzCLI.crashOwner(report("0  0x00007f52ee664c1d raise + 10 in libc.so.6")) == "unknown")
        #expect(FuzzCLI.crashOwner("Fatal error: Could not allocate memory.\n" + report("0 0x1 abort in libc.so.6")) == "swift")
        #expect(FuzzCLI.crashOwner("free(): invalid pointer\n") == "libc-heap")
        #expect(FuzzCLI.crashOwner("") == "unknown")
    }
}
