import ArgumentParser
import Foundation
import Rift

/// `rift check`: parse the options, call the checker library, print, exit with the verdict.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a recorded history for linearizability, staleness and session guarantees.",
        discussion: """
            Reads a history (Rift JSON Lines, Jepsen/Knossos EDN, or Porcupine's kv and etcd test \
            formats) and runs the named checks; with none named, every check the history supports.

            Checks: --linearizable (per key; register or string key-value model), \
            --max-staleness/--max-versions-behind (staleness of reads), --monotonic (monotonic \
            reads per process, and no stale replay across processes), --sessions (read-your-writes, monotonic \
            writes, writes-follow-reads), \
            --converge-within (time from the heal to convergence), --consistency-within T \
            (the nines of reads stale by at most T, per node, and the t-visibility curve; \
            --min-nines N sets a bound), --lost-writes (Jepsen's set workload: acknowledged adds \
            absent from each set's final read, indeterminate adds recovered, unexpected elements; \
            --max-lost N and --max-lost-fraction F set bounds, and without them any lost add \
            fails). Staleness, consistency and the session checks need integer values that grow \
            per key in write order; lost writes needs add operations (:f :add in EDN) and a final \
            ok read of each set.

            Knossos' multi-register histories (:f :txn, :value [[:read :x 0] [:write :y 2]]) \
            are checked with keys that txns touch together searched as one. --initial-value V \
            sets every register's value before the history (default: absent); Knossos checks its \
            cas-register and multi-register histories from 0. In EDN histories a read of nil tells \
            nothing, as in Knossos.

            Windows: --from and --until take nanoseconds or an offset from the first nemesis \
            event: heal+2s (first "stop"), start+1s (first "start").

            Exit status: 0 all valid, 1 some check invalid, 3 unknown (none invalid), 2 bad input.

            Examples:
              rift check run.jsonl
              rift check run.jsonl --linearizable --timeout 30s
              rift check run.jsonl --max-staleness 500ms --from heal+2s --json
              rift check etcd_002.log --format porcupine-etcd
              rift check multi-register.edn --initial-value 0
              rift check run.jsonl --consistency-within 100ms --min-nines 3
              rift check sets.jsonl --lost-writes --max-lost-fraction 0.01
            """
    )

    @Argument(help: "The history file.")
    var history: String

    @Option(help: "Input format: auto, jsonl, edn, porcupine-kv, porcupine-etcd.")
    var format: String = "auto"

    @Flag(help: "Check linearizability per key.")
    var linearizable = false

    @Option(help: "Flag reads stale for longer than this (e.g. 500ms).")
    var maxStaleness: String?

    @Option(help: "Flag reads more than N versions behind.")
    var maxVersionsBehind: Int?

    @Flag(help: "Check monotonic reads per process and no stale replay across processes.")
    var monotonic = false

    @Flag(help: "Check read-your-writes, monotonic writes and writes-follow-reads per session (the session field, else the process).")
    var sessions = false

    @Option(help: "Require convergence within this long after the heal (e.g. 5s).")
    var convergeWithin: String?

    @Option(help: "Measure the nines of reads consistent within this window (stale by at most it; e.g. 100ms).")
    var consistencyWithin: String?

    @Option(help: "With --consistency-within: fail below this many nines (e.g. 3 for 99.9%).")
    var minNines: Double?

    @Flag(help: "Check Jepsen's set workload: acknowledged adds lost from each set's final read, recovered and unexpected elements.")
    var lostWrites = false

    @Option(help: "With --lost-writes: fail when more than N acknowledged adds are lost (default: any lost add fails).")
    var maxLost: Int?

    @Option(help: ArgumentHelp("With --lost-writes: fail when more than this fraction (0...1) of acknowledged adds is lost.", valueName: "F"))
    var maxLostFraction: Double?

    @Option(help: "Only reads invoked at or after this (nanoseconds, heal+2s, start+1s).")
    var from: String?

    @Option(help: "Only reads invoked at or before this (nanoseconds, heal+2s, start+1s).")
    var until: String?

    @Option(help: "Time budget for the linearizability search; keys not done are unknown.")
    var timeout: String?

    @Option(help: ArgumentHelp(
        "The registers' value before the history, for linearizability: 0, nil (absent, the default), a string or \"0\".",
        valueName: "V"))
    var initialValue: String?

    @Flag(help: "Print one JSON object instead of the summary.")
    var json = false

    func run() async throws {
        let checks: (list: [any Check], named: Bool)
        let window: (from: WindowBound?, until: WindowBound?)
        let historyFormat: HistoryFormat
        do {
            guard let f = HistoryFormat(rawValue: format) else {
                throw CheckUsageError("unknown format '\(format)' (auto, jsonl, edn, porcupine-kv, porcupine-etcd)")
            }
            historyFormat = f
            checks = try makeChecks()
            window = (try bound("from", from), try bound("until", until))
        } catch let error as CheckUsageError {
            CheckOutput.error(error.message)
            throw ExitCode(2)
        }

        let parsed: History
        let readStart = RiftClock.monotonicNanoseconds()
        do throws(HistoryError) {
            parsed = try HistoryReader.read(path: history, format: historyFormat)
        } catch {
            CheckOutput.error(error.description)
            throw ExitCode(2)
        }
        let readNs = RiftClock.monotonicNanoseconds() - readStart
        let report: CheckReport
        do throws(HistoryError) {
            report = try Checker.check(parsed, checks.list, from: window.from, until: window.until, named: checks.named)
        } catch {
            var e = error
            e.file = history
            CheckOutput.error(e.description)
            throw ExitCode(2)
        }
        if json {
            print(report.json(extra: ["read_ns": .int(readNs)]))
        } else {
            print(report.text(), terminator: "")
        }
        switch report.verdict {
        case .valid: return
        case .invalid: throw ExitCode(1)
        case .unknown: throw ExitCode(3)
        }
    }

    /// The checks the flags name, each with its settings; with none named, every check the
    /// history supports (`named` false: the others are left out, not reported unknown).
    private func makeChecks() throws -> (list: [any Check], named: Bool) {
        func duration(_ name: String, _ text: String?) throws -> Int64? {
            guard let text else { return nil }
            do throws(DurationParser.Failure) {
                return try DurationParser.nanoseconds(text)
            } catch {
                throw CheckUsageError("--\(name): \(error.description)")
            }
        }
        if let maxVersionsBehind, maxVersionsBehind < 0 { throw CheckUsageError("--max-versions-behind must be at least 0") }
        if let initialValue, initialValue.isEmpty { throw CheckUsageError("--initial-value: empty value (write nil for absent, or \"\" for the empty string)") }
        let timeoutNs = try duration("timeout", timeout)
        let linearizability = LinearizabilityCheck(timeoutNs: timeoutNs, initialValue: initialValue.map { HistoryValue(scalarText: $0) })
        var checks: [any Check] = []
        if linearizable { checks.append(linearizability) }
        if maxStaleness != nil || maxVersionsBehind != nil {
            checks.append(StalenessCheck(maxStalenessNs: try duration("max-staleness", maxStaleness), maxVersionsBehind: maxVersionsBehind))
        }
        if monotonic { checks += [MonotonicReadsCheck(), StaleReplayCheck()] as [any Check] }
        if sessions { checks += [ReadYourWritesCheck(), MonotonicWritesCheck(), WritesFollowReadsCheck()] as [any Check] }
        if convergeWithin != nil { checks.append(ConvergenceCheck(withinNs: try duration("converge-within", convergeWithin))) }
        if minNines != nil, consistencyWithin == nil { throw CheckUsageError("--min-nines needs --consistency-within") }
        if let minNines, !(0...15).contains(minNines) { throw CheckUsageError("--min-nines: \(minNines) is out of range 0...15") }
        if consistencyWithin != nil {
            checks.append(ConsistencyCheck(withinNs: try duration("consistency-within", consistencyWithin), minNines: minNines))
        }
        if maxLost != nil, !lostWrites { throw CheckUsageError("--max-lost needs --lost-writes") }
        if maxLostFraction != nil, !lostWrites { throw CheckUsageError("--max-lost-fraction needs --lost-writes") }
        if let maxLost, maxLost < 0 { throw CheckUsageError("--max-lost must be at least 0") }
        if let maxLostFraction, !(0...1).contains(maxLostFraction) { throw CheckUsageError("--max-lost-fraction: \(maxLostFraction) is out of range 0...1") }
        if lostWrites { checks.append(LostWritesCheck(maxLost: maxLost, maxLostFraction: maxLostFraction)) }
        if checks.isEmpty {
            // The defaults, with the linearizability budget and initial value when given.
            return (CheckRegistry.defaults.map { $0 is LinearizabilityCheck ? linearizability : $0 }, false)
        }
        return (checks, true)
    }

    private func bound(_ name: String, _ text: String?) throws -> WindowBound? {
        guard let text else { return nil }
        do throws(WindowBound.Failure) {
            return try WindowBound.parse(text)
        } catch {
            throw CheckUsageError("--\(name): \(error.description)")
        }
    }
}
