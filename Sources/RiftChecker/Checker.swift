import Dispatch
import Foundation
import RiftCore
import RiftHistory

/// A window edge: absolute nanoseconds, or an offset from the first nemesis `start` or `stop`
/// (`heal+2s`, `start+1s`, `heal-500ms`).
public enum WindowBound: Sendable, Equatable {
    case absolute(Int64)
    case nemesis(f: String, offsetNs: Int64)

    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var input: String
        public var reason: String
        public var description: String { "invalid window bound '\(input)': \(reason) (write nanoseconds, heal+2s or start+1s)" }
    }

    public static func parse(_ text: String) throws(Failure) -> WindowBound {
        if let n = Int64(text) { return .absolute(n) }
        for (word, f) in [("heal", "stop"), ("stop", "stop"), ("start", "start")] where text.hasPrefix(word) {
            let rest = text.dropFirst(word.count)
            if rest.isEmpty { return .nemesis(f: f, offsetNs: 0) }
            guard let sign = rest.first, sign == "+" || sign == "-" else { throw Failure(input: text, reason: "expected + or - after '\(word)'") }
            do throws(DurationParser.Failure) {
                let ns = try DurationParser.nanoseconds(String(rest.dropFirst()))
                return .nemesis(f: f, offsetNs: sign == "-" ? -ns : ns)
            } catch {
                throw Failure(input: text, reason: error.description)
            }
        }
        throw Failure(input: text, reason: "not a number of nanoseconds nor heal±D / start±D")
    }

    /// The bound's time in `history`; fails when the history has no such nemesis event.
    public func resolve(in history: PairedHistory) throws(Failure) -> Int64 {
        switch self {
        case .absolute(let t): return t
        case .nemesis(let f, let offset):
            guard let t = history.firstNemesisTime(f) else {
                throw Failure(input: f == "stop" ? "heal" : "start", reason: "the history has no nemesis \(f) event")
            }
            return t + offset
        }
    }
}

/// What to check and the bounds. With `checks` nil every check the history supports runs.
public struct CheckOptions: Sendable {
    public var checks: Set<CheckKind>?
    public var maxStalenessNs: Int64?
    public var maxVersionsBehind: Int?
    public var convergeWithinNs: Int64?
    public var from: WindowBound?
    public var until: WindowBound?
    /// Budget for the linearizability search; keys not done in time are `unknown`.
    public var timeoutNs: Int64?
    public var maxAnomalies: Int
    public var parallelism: Int
    /// Stop searching other keys once one key is not linearizable (they are reported unknown).
    public var stopAtFirstInvalid: Bool
    /// The latency check: the node whose p99 must reach `minP99Ns` while every other node's
    /// p99 stays at or under `othersMaxP99Ns` and its median at or under `othersMaxP50Ns`.
    public var latencyNode: String?
    public var minP99Ns: Int64?
    public var othersMaxP99Ns: Int64?
    public var othersMaxP50Ns: Int64?
    /// The value every register holds before the history (linearizability); null: absent.
    /// Knossos checks its cas-register and multi-register histories from 0.
    public var initialValue: HistoryValue = .null

    public init(
        checks: Set<CheckKind>? = nil, maxStalenessNs: Int64? = nil, maxVersionsBehind: Int? = nil, convergeWithinNs: Int64? = nil,
        from: WindowBound? = nil, until: WindowBound? = nil, timeoutNs: Int64? = nil, maxAnomalies: Int = 10,
        parallelism: Int = ProcessInfo.processInfo.activeProcessorCount, stopAtFirstInvalid: Bool = true
    ) {
        self.stopAtFirstInvalid = stopAtFirstInvalid
        self.checks = checks
        self.maxStalenessNs = maxStalenessNs
        self.maxVersionsBehind = maxVersionsBehind
        self.convergeWithinNs = convergeWithinNs
        self.from = from
        self.until = until
        self.timeoutNs = timeoutNs
        self.maxAnomalies = maxAnomalies
        self.parallelism = parallelism
    }
}

/// The public entry point: run checks on a history in memory.
///
/// ```swift
/// let history = try HistoryReader.read(path: "run.jsonl")
/// let report = try Checker.check(history, CheckOptions(checks: [.linearizability]))
/// #expect(report.verdict == .valid)
/// ```
public enum Checker {
    public static func check(_ history: History, _ options: CheckOptions = CheckOptions()) throws(HistoryError) -> CheckReport {
        let paired = try history.paired()
        do throws(WindowBound.Failure) {
            return try check(paired, options)
        } catch {
            throw HistoryError(line: 0, reason: error.description)
        }
    }

    public static func check(_ history: PairedHistory, _ options: CheckOptions = CheckOptions()) throws(WindowBound.Failure) -> CheckReport {
        let start = RiftClock.monotonicNanoseconds()
        let cpuStart = ProcessCPUClock.nanoseconds()
        let ops = history.operations
        let window = TimeWindow(from: try options.from?.resolve(in: history) ?? .min, until: try options.until?.resolve(in: history) ?? .max)
        let named = options.checks
        func wanted(_ kind: CheckKind) -> Bool { named?.contains(kind) ?? true }
        var results: [CheckResult] = []

        if wanted(.linearizability) {
            results.append(linearizability(ops, options, nullReads: history.nullReads))
        }
        if named?.contains(.latency) == true {
            results.append(LatencyChecker.check(ops, window: window, options: options))
        }

        let integerKinds: [CheckKind] = [.staleness, .monotonicReads, .readYourWrites, .monotonicWrites, .writesFollowReads, .staleReplay, .convergence]
        let selected = integerKinds.filter(wanted)
        if !selected.isEmpty {
            let view = IntegerView(ops, nullReads: history.nullReads)
            // The checks read the same view and are independent: run them side by side.
            let slots = CheckSlots(count: selected.count)
            // Monotonic writes and writes-follow-reads come from one pass.
            let causal = CausalOnce()
            let run: @Sendable (Int) -> Void = { i in
                switch selected[i] {
                case .monotonicWrites where !view.isEmpty:
                    slots.set(i, causal.results(ops, view, window, options.maxAnomalies).monotonicWrites)
                case .writesFollowReads where !view.isEmpty:
                    slots.set(i, causal.results(ops, view, window, options.maxAnomalies).writesFollowReads)
                default:
                    slots.set(i, integerCheck(selected[i], history, view, window, options, named: named != nil))
                }
            }
            if selected.count == 1 || options.parallelism <= 1 {
                for i in selected.indices { run(i) }
            } else {
                DispatchQueue.concurrentPerform(iterations: selected.count, execute: run)
            }
            results.append(contentsOf: slots.values.compactMap { $0 })
        }
        return CheckReport(
            verdict: Verdict.combine(results.map(\.verdict)), checks: results, operations: ops.count,
            warnings: history.warnings, elapsedNs: RiftClock.monotonicNanoseconds() - start,
            cpuNs: ProcessCPUClock.nanoseconds() - cpuStart)
    }

    /// One check over integer values; nil when the history does not support it and nobody
    /// asked for it by name.
    static func integerCheck(
        _ kind: CheckKind, _ history: PairedHistory, _ view: IntegerView, _ window: TimeWindow, _ options: CheckOptions, named: Bool
    ) -> CheckResult? {
        let ops = history.operations
        let m = options.maxAnomalies
        if view.isEmpty {
            // Unsupported: skipped when nobody asked, unknown when asked for by name.
            return named ? CheckResult(kind: kind, verdict: .unknown, summary: "needs integer values that grow per key in write order; no key of this history has them") : nil
        }
        switch kind {
        case .staleness:
            return StalenessChecker.check(
                history, view, window: window, maxStalenessNs: options.maxStalenessNs, maxVersionsBehind: options.maxVersionsBehind, maxAnomalies: m)
        case .monotonicReads:
            return SessionChecks.monotonicReads(ops, view, window: window, maxAnomalies: m)
        case .readYourWrites:
            return SessionChecks.readYourWrites(ops, view, window: window, maxAnomalies: m)
        case .monotonicWrites:
            return CausalSessionChecks.check(ops, view, window: window, maxAnomalies: m).monotonicWrites
        case .writesFollowReads:
            return CausalSessionChecks.check(ops, view, window: window, maxAnomalies: m).writesFollowReads
        case .staleReplay:
            let since = window.from != .min ? window.from : (history.firstNemesisTime("stop") ?? .min)
            return SessionChecks.staleReplay(ops, view, since: since, window: window, maxAnomalies: m)
        case .convergence:
            let heal = window.from != .min ? window.from : history.firstNemesisTime("stop")
            if let heal {
                return SessionChecks.convergence(ops, view, heal: heal, withinNs: options.convergeWithinNs, window: window, maxAnomalies: m)
            }
            return named ? CheckResult(kind: .convergence, verdict: .unknown, summary: "needs a heal time: a nemesis stop event or --from") : nil
        case .linearizability, .latency, .originLoad:
            return nil
        }
    }

    static func linearizability(_ ops: [HistoryOperation], _ options: CheckOptions, nullReads: NullReadMeaning = .absent) -> CheckResult {
        let result = LinearizabilityChecker.check(
            ops, timeoutNs: options.timeoutNs, stopAtFirstInvalid: options.stopAtFirstInvalid, parallelism: options.parallelism,
            settings: ModelSettings(initialValue: options.initialValue, nullReads: nullReads))
        var anomalies: [Anomaly] = []
        for key in result.keys where key.verdict == .invalid && anomalies.count < options.maxAnomalies {
            let prefix = key.longestPrefix.suffix(8).map { ops[$0] }
            let blocked = key.blocked.prefix(8).map { ops[$0] }
            anomalies.append(Anomaly(
                kind: "not-linearizable",
                message: "\(key.keys.count > 1 ? "keys" : "key") \(display(key.key)): the longest linearizable prefix has \(key.longestPrefix.count) of \(key.operations) operations (state then \(key.prefixState ?? "?")); operation \(key.blocked.first.map(String.init) ?? "?") cannot be linearized after it. The prefix's last operations, then the blocked ones:",
                operations: prefix + blocked,
                roles: Array(repeating: "prefix", count: prefix.count) + Array(repeating: "blocked", count: blocked.count)))
        }
        var details: [String: HistoryValue] = [
            "keys": .int(Int64(result.keys.count)),
            "invalid_keys": .list(result.invalidKeys.map { .string($0) }),
            "unknown_keys": .list(result.unknownKeys.map { .string($0) }),
        ]
        var evidence: [String: HistoryValue] = [:]
        for key in result.keys where key.verdict != .valid && evidence.count < options.maxAnomalies {
            var e: [String: HistoryValue] = ["operations": .int(Int64(key.operations)), "model": .string(key.model.rawValue)]
            if key.verdict == .invalid {
                e["longest_linearizable_prefix"] = .list(key.longestPrefix.map { .int(Int64($0)) })
                e["state_after_prefix"] = .string(key.prefixState ?? "")
                e["not_linearizable"] = .list(key.blocked.map { .int(Int64($0)) })
            }
            if let reason = key.reason { e["reason"] = .string(reason) }
            evidence[key.key] = .object(e)
        }
        if !evidence.isEmpty { details["evidence"] = .object(evidence) }
        let steps = result.keys.reduce(0) { $0 + $1.steps }
        details["search_steps"] = .int(Int64(steps))
        if !options.initialValue.isNull { details["initial_value"] = options.initialValue }
        details["keys_decided_by"] = .object([
            "zones": .int(Int64(result.keys.filter { $0.method == "zones" }.count)),
            "search": .int(Int64(result.keys.filter { $0.method == "search" }.count)),
        ])
        let summary: String
        switch result.verdict {
        case .valid: summary = "\(result.keys.count) keys, all linearizable"
        case .invalid:
            summary = "\(result.invalidKeys.count) of \(result.keys.count) keys not linearizable: \(result.invalidKeys.prefix(5).map(display).joined(separator: ", "))"
                + (result.unknownKeys.isEmpty ? "" : "; \(result.unknownKeys.count) keys unknown (search stopped at the first invalid key or ran out of time)")
        case .unknown:
            let reasons = Set(result.keys.compactMap(\.reason)).sorted().joined(separator: "; ")
            summary = "\(result.unknownKeys.count) of \(result.keys.count) keys unknown (\(reasons))"
        }
        return CheckResult(kind: .linearizability, verdict: result.verdict, summary: summary, details: details, anomalies: anomalies, anomalyCount: result.invalidKeys.count)
    }

    static func display(_ key: String) -> String { key.isEmpty ? "(single register)" : key }
}

final class CheckSlots: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [CheckResult?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: CheckResult?) {
        lock.lock()
        values[i] = v
        lock.unlock()
    }
}

/// Runs the causal session checks once for whichever of their two results is asked first.
final class CausalOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (monotonicWrites: CheckResult, writesFollowReads: CheckResult)?

    func results(_ ops: [HistoryOperation], _ view: IntegerView, _ window: TimeWindow, _ maxAnomalies: Int)
        -> (monotonicWrites: CheckResult, writesFollowReads: CheckResult) {
        lock.lock()
        defer { lock.unlock() }
        if let value { return value }
        let v = CausalSessionChecks.check(ops, view, window: window, maxAnomalies: maxAnomalies)
        value = v
        return v
    }
}
