import RiftCore
import RiftHistory

/// Order checks on integer histories whose values grow per key in write order.
enum SessionChecks {
    /// Per process and key, `ok` reads in invocation order never return a value whose write
    /// surely came before the write of a value an earlier read returned.
    static func monotonicReads(_ ops: [HistoryOperation], _ view: IntegerView, window: TimeWindow, maxAnomalies: Int) -> CheckResult {
        var anomalies: [Anomaly] = []
        var count = 0
        var checked = 0
        for key in view.keys {
            var byProcess: [ProcessID: [IntegerView.Read]] = [:]
            for r in view.reads[key] ?? [] where window.contains(ops[r.op].invokeTime) { byProcess[ops[r.op].process, default: []].append(r) }
            for (_, reads) in byProcess {
                let sorted = reads.sorted { ops[$0.op].invokeTime < ops[$1.op].invokeTime }
                var seen = NewestSeen()
                for r in sorted {
                    checked += 1
                    if let n = seen.newer(than: r.value, view, key: key) {
                        count += 1
                        if anomalies.count < maxAnomalies {
                            anomalies.append(Anomaly(
                                kind: "non-monotonic-read",
                                message: "process \(ops[r.op].process) read \(r.value) from key \(Checker.display(key)) after reading \(n.value)",
                                operations: [ops[n.op], ops[r.op]]))
                        }
                    }
                    seen.note(r, view, key: key)
                }
            }
        }
        return CheckResult(
            kind: .monotonicReads, verdict: count > 0 ? .invalid : .valid,
            summary: "\(checked) reads" + (count > 0 ? "; \(count) went backwards within a process" : "; none went backwards within a process"),
            details: ["reads": .int(Int64(checked)), "violations": .int(Int64(count))], anomalies: anomalies, anomalyCount: count)
    }

    /// A session's read never returns a value whose write surely came before the session's own
    /// last `ok` write to that key. The session is the events' `session` field when present,
    /// else the process.
    static func readYourWrites(_ ops: [HistoryOperation], _ view: IntegerView, window: TimeWindow, maxAnomalies: Int) -> CheckResult {
        var anomalies: [Anomaly] = []
        var count = 0
        var checked = 0
        for key in view.keys {
            var events: [(op: Int, isWrite: Bool, value: Int64)] = []
            for r in view.reads[key] ?? [] { events.append((r.op, false, r.value)) }
            for w in view.writes[key] ?? [] { events.append((w.op, true, w.value)) }
            events.sort { ops[$0.op].invokeTime < ops[$1.op].invokeTime }
            var lastWrite: [String: Int] = [:]  // session -> index into events
            for (i, e) in events.enumerated() {
                let op = ops[e.op]
                let session = op.session ?? "process \(op.process)"
                if e.isWrite {
                    lastWrite[session] = i
                    continue
                }
                guard window.contains(op.invokeTime) else { continue }
                checked += 1
                if let wi = lastWrite[session], view.definitelyBefore(key, e.value, events[wi].value) {
                    count += 1
                    if anomalies.count < maxAnomalies {
                        anomalies.append(Anomaly(
                            kind: "read-your-writes",
                            message: "\(session) wrote \(events[wi].value) to key \(Checker.display(key)), then read \(e.value)",
                            operations: [ops[events[wi].op], op]))
                    }
                }
            }
        }
        return CheckResult(
            kind: .readYourWrites, verdict: count > 0 ? .invalid : .valid,
            summary: "\(checked) reads" + (count > 0 ? "; \(count) missed the session's own write" : "; every read saw the session's own writes"),
            details: ["reads": .int(Int64(checked)), "violations": .int(Int64(count))], anomalies: anomalies, anomalyCount: count)
    }

    /// No stale replay: once a read invoked at or after `since` returned v, no read invoked after
    /// that read completed returns a value whose write surely came before v's (across all
    /// processes and nodes).
    static func staleReplay(_ ops: [HistoryOperation], _ view: IntegerView, since: Int64, window: TimeWindow, maxAnomalies: Int) -> CheckResult {
        var anomalies: [Anomaly] = []
        var count = 0
        var checked = 0
        for key in view.keys {
            let reads = (view.reads[key] ?? []).filter { ops[$0.op].invokeTime >= since && window.contains(ops[$0.op].invokeTime) }
            let byInvoke = reads.sorted { ops[$0.op].invokeTime < ops[$1.op].invokeTime }
            let byComplete = reads.sorted { ops[$0.op].completeTime! < ops[$1.op].completeTime! }
            var c = 0
            var seen = NewestSeen()  // reads completed before the current one was invoked
            for r in byInvoke {
                let t = ops[r.op].invokeTime
                while c < byComplete.count, ops[byComplete[c].op].completeTime! < t {
                    seen.note(byComplete[c], view, key: key)
                    c += 1
                }
                checked += 1
                if let h = seen.newer(than: r.value, view, key: key) {
                    count += 1
                    if anomalies.count < maxAnomalies {
                        anomalies.append(Anomaly(
                            kind: "stale-replay",
                            message: "key \(Checker.display(key)): read returned \(r.value) after another read had returned \(h.value)",
                            operations: [ops[h.op], ops[r.op]]))
                    }
                }
            }
        }
        return CheckResult(
            kind: .staleReplay, verdict: count > 0 ? .invalid : .valid,
            summary: "\(checked) reads since \(since == .min ? "the start" : String(since) + "ns")" + (count > 0 ? "; \(count) returned an older value than an earlier read" : "; none went back in time"),
            details: ["reads": .int(Int64(checked)), "violations": .int(Int64(count)), "since_ns": since == .min ? .null : .int(since)],
            anomalies: anomalies, anomalyCount: count)
    }

    /// The first time after `heal` from which no read returns a value whose write surely came
    /// before a write completed before the read's invocation; valid when it came within `withinNs`.
    static func convergence(_ ops: [HistoryOperation], _ view: IntegerView, heal: Int64, withinNs: Int64?, window: TimeWindow, maxAnomalies: Int) -> CheckResult {
        var convergedAt = heal
        var lastStale: IntegerView.Read?
        var readsAfter = 0
        var staleCount = 0
        var nodes: Set<String> = []
        var nodeConverged: [String: Int64] = [:]  // node -> completion of its last stale read
        for key in view.keys {
            let writes = (view.writes[key] ?? []).sorted { ops[$0.op].completeTime! < ops[$1.op].completeTime! }
            let reads = (view.reads[key] ?? []).filter { ops[$0.op].invokeTime >= heal && window.contains(ops[$0.op].invokeTime) }
                .sorted { ops[$0.op].invokeTime < ops[$1.op].invokeTime }
            var w = 0
            var completed = NewestSeen()  // the writes completed before the read
            for r in reads {
                let op = ops[r.op]
                while w < writes.count, ops[writes[w].op].completeTime! < op.invokeTime {
                    completed.note(IntegerView.Read(op: writes[w].op, value: writes[w].value), view, key: key)
                    w += 1
                }
                readsAfter += 1
                if let n = op.node { nodes.insert(n) }
                if completed.newer(than: r.value, view, key: key) != nil {
                    staleCount += 1
                    let n = op.node ?? "-"
                    nodeConverged[n] = max(nodeConverged[n] ?? heal, op.completeTime!)
                    if op.completeTime! > convergedAt {
                        convergedAt = op.completeTime!
                        lastStale = r
                    }
                }
            }
        }
        // Every node must be seen fresh after the convergence point.
        var freshNodes: Set<String> = []
        var freshAfter = 0
        for key in view.keys {
            for r in view.reads[key] ?? [] where ops[r.op].invokeTime > convergedAt && window.contains(ops[r.op].invokeTime) {
                freshAfter += 1
                if let n = ops[r.op].node { freshNodes.insert(n) }
            }
        }
        let took = convergedAt - heal
        var verdict = Verdict.valid
        var anomalies: [Anomaly] = []
        let unseen = nodes.subtracting(freshNodes).sorted()
        if freshAfter == 0 || !unseen.isEmpty {
            verdict = .unknown
        }
        if let withinNs, took > withinNs {
            verdict = .invalid
            if let s = lastStale, maxAnomalies > 0 {
                anomalies.append(Anomaly(
                    kind: "late-convergence",
                    message: "last stale read completed \(DurationParser.readable(nanoseconds: took)) after the heal (bound \(DurationParser.readable(nanoseconds: withinNs)))",
                    operations: [ops[s.op]]))
            }
        }
        var summary = "converged \(DurationParser.readable(nanoseconds: took)) after heal at \(heal)ns; \(staleCount) stale reads of \(readsAfter) after the heal"
        if freshAfter == 0 { summary += "; no read after the last stale one, so convergence is not shown" }
        if !unseen.isEmpty { summary += "; nodes with no read after convergence: \(unseen.joined(separator: ", "))" }
        var details: [String: HistoryValue] = [
            "heal_ns": .int(heal), "converged_at_ns": .int(convergedAt), "converged_after_ns": .int(took),
            "stale_reads_after_heal": .int(Int64(staleCount)), "reads_after_heal": .int(Int64(readsAfter)),
        ]
        if let withinNs { details["converge_within_ns"] = .int(withinNs) }
        var perNode: [String: HistoryValue] = [:]
        for n in nodes.union(nodeConverged.keys) { perNode[n] = .int((nodeConverged[n] ?? heal) - heal) }
        details["per_node_converged_after_ns"] = .object(perNode)
        if !unseen.isEmpty { details["nodes_not_seen_converged"] = .list(unseen.map { .string($0) }) }
        return CheckResult(kind: .convergence, verdict: verdict, summary: summary, details: details, anomalies: anomalies, anomalyCount: anomalies.count)
    }
}

extension CheckKind {
    public static let monotonicReads = CheckKind(rawValue: "monotonic_reads")
    public static let readYourWrites = CheckKind(rawValue: "read_your_writes")
    public static let staleReplay = CheckKind(rawValue: "stale_replay")
    public static let convergence = CheckKind(rawValue: "convergence")
}

/// `monotonic_reads`: per process and key, reads never go back in time.
public struct MonotonicReadsCheck: Check {
    public static let kind = CheckKind.monotonicReads
    public static var fields: [CheckField<Self>] { [] }
    public init() {}

    public func run(_ context: CheckContext, window: TimeWindow) -> CheckResult? {
        let view = context.integerView
        if view.isEmpty { return context.unsupported(Self.kind) }
        return SessionChecks.monotonicReads(context.operations, view, window: window, maxAnomalies: context.maxAnomalies)
    }
}

/// `read_your_writes`: a session never reads older than its own last write.
public struct ReadYourWritesCheck: Check {
    public static let kind = CheckKind.readYourWrites
    public static var fields: [CheckField<Self>] { [] }
    public init() {}

    public func run(_ context: CheckContext, window: TimeWindow) -> CheckResult? {
        let view = context.integerView
        if view.isEmpty { return context.unsupported(Self.kind) }
        return SessionChecks.readYourWrites(context.operations, view, window: window, maxAnomalies: context.maxAnomalies)
    }
}

/// `stale_replay`: after the window's start (else the first heal), no read returns a value
/// older than one already read by anyone.
public struct StaleReplayCheck: Check {
    public static let kind = CheckKind.staleReplay
    public static var fields: [CheckField<Self>] { [] }
    public init() {}

    public func run(_ context: CheckContext, window: TimeWindow) -> CheckResult? {
        let view = context.integerView
        if view.isEmpty { return context.unsupported(Self.kind) }
        let since = window.from != .min ? window.from : (context.history.firstNemesisTime("stop") ?? .min)
        return SessionChecks.staleReplay(context.operations, view, since: since, window: window, maxAnomalies: context.maxAnomalies)
    }
}

/// `convergence`: after the heal (or the window's start), every node reads the latest value,
/// within `within` when set.
public struct ConvergenceCheck: Check {
    public static let kind = CheckKind.convergence
    public var withinNs: Int64?

    public init() {}
    public init(withinNs: Int64?) { self.withinNs = withinNs }

    public static var fields: [CheckField<Self>] { [.init("within", .duration(\.withinNs, scales: true))] }

    public func run(_ context: CheckContext, window: TimeWindow) -> CheckResult? {
        let view = context.integerView
        if view.isEmpty { return context.unsupported(Self.kind) }
        let heal = window.from != .min ? window.from : context.history.firstNemesisTime("stop")
        guard let heal else {
            return context.named ? CheckResult(kind: Self.kind, verdict: .unknown, summary: "needs a heal time: a nemesis stop event or --from") : nil
        }
        return SessionChecks.convergence(context.operations, view, heal: heal, withinNs: withinNs, window: window, maxAnomalies: context.maxAnomalies)
    }
}
