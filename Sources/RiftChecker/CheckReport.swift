#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RiftHistory

/// Something a check found wrong, with the operations that show it.
public struct Anomaly: Sendable {
    public var kind: String
    public var message: String
    public var operations: [HistoryOperation]
    /// What each operation is to the anomaly (`prefix`, `blocked`), when that helps; else empty.
    public var roles: [String]

    public init(kind: String, message: String, operations: [HistoryOperation], roles: [String] = []) {
        self.kind = kind
        self.message = message
        self.operations = operations
        self.roles = roles
    }
}

/// One check's verdict, a one-line summary, machine-readable details and the first anomalies.
public struct CheckResult: Sendable {
    public var kind: CheckKind
    public var verdict: Verdict
    public var summary: String
    public var details: [String: HistoryValue]
    public var anomalies: [Anomaly]
    public var anomalyCount: Int

    public init(kind: CheckKind, verdict: Verdict, summary: String, details: [String: HistoryValue] = [:], anomalies: [Anomaly] = [], anomalyCount: Int? = nil) {
        self.kind = kind
        self.verdict = verdict
        self.summary = summary
        self.details = details
        self.anomalies = anomalies
        self.anomalyCount = anomalyCount ?? anomalies.count
    }
}

/// Everything `Checker.check` found. `verdict` combines the checks that ran.
public struct CheckReport: Sendable {
    public var verdict: Verdict
    public var checks: [CheckResult]
    public var operations: Int
    public var warnings: [String]
    /// Wall time of the check (excluding reading the file).
    public var elapsedNs: Int64
    /// CPU time the process spent during the check, all threads: on a loaded machine a steadier
    /// measure of the work than wall time.
    public var cpuNs: Int64

    public subscript(kind: CheckKind) -> CheckResult? { checks.first { $0.kind == kind } }
}

extension CheckReport {
    /// A report of `checks`; with none it is `unknown` (nothing checked shows nothing).
    public init(checks: [CheckResult], operations: Int = 0, warnings: [String] = [], elapsedNs: Int64 = 0, cpuNs: Int64 = 0) {
        self.verdict = Verdict.combine(checks.map(\.verdict))
        self.checks = checks
        self.operations = operations
        self.warnings = warnings
        self.elapsedNs = elapsedNs
        self.cpuNs = cpuNs
    }
}

enum ProcessCPUClock {
    static func nanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
