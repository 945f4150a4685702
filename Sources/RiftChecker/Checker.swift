import Dispatch
import Foundation
import RiftCore
import RiftHistory
import Synchronization

/// A window edge: absolute nanoseconds, or an offset from the first nemesis `start` or `stop`
/// (`heal+2s`, `start+1s`, `heal-500ms`), or from the first `rebalance` (`rebalance+2s`).
public enum WindowBound: Sendable, Equatable {
    case absolute(Int64)
    case nemesis(f: String, offsetNs: Int64)

    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var input: String
        public var reason: String
        public var description: String { "invalid window bound '\(input)': \(reason) (write nanoseconds, heal+2s, start+1s or rebalance+2s)" }
    }

    public static func parse(_ text: String) throws(Failure) -> WindowBound {
        if let n = Int64(text) { return .absolute(n) }
        for (word, f) in [("heal", "stop"), ("stop", "stop"), ("start", "start"), ("rebalance", "rebalance")] where text.hasPrefix(word) {
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
        throw Failure(input: text, reason: "not a number of nanoseconds nor heal±D / start±D / rebalance±D")
    }

    /// The bound's time in `history`; fails when the history has no such nemesis event.
    public func resolve(in history: PairedHistory) throws(Failure) -> Int64 {
        switch self {
        case .absolute(let t): return t
        case .nemesis(let f, let offset):
            guard let t = history.firstNemesisTime(f) else {
                throw Failure(input: f == "stop" ? "heal" : f, reason: "the history has no nemesis \(f) event")
            }
            return t + offset
        }
    }
}

/// The public entry point: run checks on a history in memory.
///
/// ```swift
/// let history = try HistoryReader.read(path: "run.jsonl")
/// let report = try Checker.check(history, [LinearizabilityCheck()])
/// #expect(report.verdict == .valid)
/// ```
public enum Checker {
    /// Every check the history supports, over the whole history (`rift check` with no flag).
    public static func check(_ history: History) throws(HistoryError) -> CheckReport {
        try check(history, CheckRegistry.defaults, named: false)
    }

    /// `checks` over one window (`rift check`). With `named` false, checks the history cannot
    /// support are left out instead of reported unknown.
    public static func check(
        _ history: History, _ checks: [any Check], from: WindowBound? = nil, until: WindowBound? = nil, named: Bool = true,
        maxAnomalies: Int = 10, parallelism: Int = ProcessInfo.processInfo.activeProcessorCount
    ) throws(HistoryError) -> CheckReport {
        let paired = try history.paired()
        let context = CheckContext(paired, maxAnomalies: maxAnomalies, parallelism: parallelism, named: named)
        do throws(WindowBound.Failure) {
            let window = TimeWindow(from: try from?.resolve(in: paired) ?? .min, until: try until?.resolve(in: paired) ?? .max)
            return check(context, checks, window: window)
        } catch {
            throw HistoryError(line: 0, reason: error.description)
        }
    }

    /// `checks` on `context` in `window`. Linearizability first (its search is parallel
    /// itself), then the others side by side: they share the context's integer view.
    public static func check(_ context: CheckContext, _ checks: [any Check], window: TimeWindow) -> CheckReport {
        let start = RiftClock.monotonicNanoseconds()
        let cpuStart = ProcessCPUClock.nanoseconds()
        let first = checks.filter { $0.kind == .linearizability }
        let rest = checks.filter { $0.kind != .linearizability }
        var results = first.compactMap { $0.run(context, window: window) }
        let slots = CheckSlots(count: rest.count)
        let run: @Sendable (Int) -> Void = { i in slots.set(i, rest[i].run(context, window: window)) }
        if rest.count <= 1 || context.parallelism <= 1 {
            for i in rest.indices { run(i) }
        } else {
            DispatchQueue.concurrentPerform(iterations: rest.count, execute: run)
        }
        results += slots.values.compactMap { $0 }
        return CheckReport(
            checks: results, operations: context.operations.count, warnings: context.history.warnings,
            elapsedNs: RiftClock.monotonicNanoseconds() - start, cpuNs: ProcessCPUClock.nanoseconds() - cpuStart)
    }

    /// A scenario's checks, each in its own window, each its own report: what `rift run` and
    /// `rift report` both call, so a report shows exactly the run's verdicts.
    public static func run(_ specs: [CheckSpec], _ context: CheckContext) -> [CheckOutcome] {
        var scoped: [String: CheckContext] = [:]
        return specs.map { spec in
            var context = context
            if let region = spec.region {
                guard context.history.clientRegions.values.contains(region) else {
                    return CheckOutcome(spec: spec, report: nil, error: "no client of region '\(region)' in this history")
                }
                if scoped[region] == nil {
                    scoped[region] = CheckContext(context.history.readsScoped(to: region), series: context.series, maxAnomalies: context.maxAnomalies,
                                                  parallelism: context.parallelism, named: context.named, region: region)
                }
                context = scoped[region]!
            }
            do throws(WindowBound.Failure) {
                let window = try spec.window(in: context.history)
                var report = check(context, [spec.check], window: window)
                if report.checks.isEmpty {
                    report.checks = [CheckResult(kind: spec.kind, verdict: .unknown, summary: "the history cannot support this check")]
                    report.verdict = .unknown
                }
                return CheckOutcome(spec: spec, report: report)
            } catch {
                return CheckOutcome(spec: spec, report: nil, error: error.description)
            }
        }
    }

    /// Each check's result as an outcome of its own (`rift report` on a bare history).
    public static func outcomes(of report: CheckReport) -> [CheckOutcome] {
        report.checks.map { c in
            var one = report
            one.checks = [c]
            one.verdict = c.verdict
            let check = CheckRegistry.type(named: c.kind.rawValue).map { $0.init() } ?? LinearizabilityCheck()
            return CheckOutcome(spec: CheckSpec(name: c.kind.rawValue, check: check), report: one)
        }
    }

    static func linearizability(
        _ ops: [HistoryOperation], _ options: LinearizabilityCheck, maxAnomalies: Int, parallelism: Int, nullReads: NullReadMeaning = .absent
    ) -> CheckResult {
        let initialValue = options.initialValue ?? .null
        let result = LinearizabilityChecker.check(
            ops, timeoutNs: options.timeoutNs, stopAtFirstInvalid: options.stopAtFirstInvalid, parallelism: parallelism,
            settings: ModelSettings(initialValue: initialValue, nullReads: nullReads))
        var anomalies: [Anomaly] = []
        for key in result.keys where key.verdict == .invalid && anomalies.count < maxAnomalies {
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
        for key in result.keys where key.verdict != .valid && evidence.count < maxAnomalies {
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
        if !initialValue.isNull { details["initial_value"] = initialValue }
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

/// Per-index results written by the checks running side by side.
final class CheckSlots: Sendable {
    private let slots: Mutex<[CheckResult?]>
    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
    var values: [CheckResult?] { slots.withLock { $0 } }
    func set(_ i: Int, _ v: CheckResult?) { slots.withLock { $0[i] = v } }
}

