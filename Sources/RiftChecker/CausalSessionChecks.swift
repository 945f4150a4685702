import RiftHistory

/// Monotonic writes and writes-follow-reads, observed through reads, for histories whose values
/// grow per key in write order and identify their write (a value written once per key).
///
/// A write w by session S carries what S had done before it: the values S wrote (monotonic
/// writes) and the values S read (writes-follow-reads), per key. Once another session's read
/// returns w's value, its later reads of any key must not return less than those values.
/// Sessions are the events' `session` field, else the process. A read below a floor is flagged
/// only when its value's write surely came before the floor's (see `IntegerView`).
enum CausalSessionChecks {
    private struct Floor {
        var index: Int  // position in the session's operations
        var value: Int64
        var op: Int
    }

    static func check(_ ops: [HistoryOperation], _ view: IntegerView, window: TimeWindow, maxAnomalies: Int) -> (monotonicWrites: CheckResult, writesFollowReads: CheckResult) {
        // Dense tables by operation id: key index, value, and whether it is a write.
        var keyOf = [Int32](repeating: -1, count: ops.count)
        var valueOf = [Int64](repeating: 0, count: ops.count)
        var isWrite = [Bool](repeating: false, count: ops.count)
        var relevant: [Int] = []
        for (k, key) in view.keys.enumerated() {
            for r in view.reads[key] ?? [] { keyOf[r.op] = Int32(k); valueOf[r.op] = r.value; relevant.append(r.op) }
            for w in view.writes[key] ?? [] { keyOf[w.op] = Int32(k); valueOf[w.op] = w.value; isWrite[w.op] = true; relevant.append(w.op) }
        }
        relevant.sort { ops[$0].invokeTime != ops[$1].invokeTime ? ops[$0].invokeTime < ops[$1].invokeTime : $0 < $1 }
        // Sessions, each in invocation order.
        var sessionIndex: [String: Int] = [:]
        var sessions: [[Int]] = []
        for op in relevant {
            let name = ops[op].session ?? "process \(ops[op].process)"
            let s = sessionIndex[name] ?? { sessionIndex[name] = sessions.count; sessions.append([]); return sessions.count - 1 }()
            sessions[s].append(op)
        }
        let keyCount = max(1, view.keys.count)
        // (key, value) -> (session, position, op) of its write; nil when written twice.
        var writer: [Int: [Int64: (session: Int, index: Int, op: Int)?]] = [:]
        for (s, list) in sessions.enumerated() {
            for (i, op) in list.enumerated() where isWrite[op] {
                let k = Int(keyOf[op])
                let v = valueOf[op]
                if writer[k]?[v] != nil { writer[k]![v] = .some(nil) } else { writer[k, default: [:]][v] = (s, i, op) }
            }
        }

        var mw: [Anomaly] = [], wfr: [Anomaly] = []
        var mwCount = 0, wfrCount = 0, checked = 0
        // Per reading session, the floors it has inherited per key: folding in each observed
        // session's operations once, as its observed position advances, keeps this linear in
        // (sessions x operations).
        var floorW = [Floor](repeating: Floor(index: -1, value: .min, op: -1), count: keyCount)
        var floorR = floorW
        var floorSeenVia = [Int](repeating: -1, count: keyCount * 2)
        var folded = [Int](repeating: 0, count: sessions.count)
        for (p, list) in sessions.enumerated() {
            for k in 0..<keyCount {
                floorW[k] = Floor(index: -1, value: .min, op: -1)
                floorR[k] = floorW[k]
            }
            for s in folded.indices { folded[s] = 0 }
            for op in list where !isWrite[op] {
                let k = Int(keyOf[op])
                let v = valueOf[op]
                let key = view.keys[k]
                if window.contains(ops[op].invokeTime) {
                    checked += 1
                    // Below a floor only counts when surely older: concurrent writes may land in
                    // either order (IntegerView.definitelyBefore).
                    if view.definitelyBefore(key, v, floorW[k].value) {
                        mwCount += 1
                        if mw.count < maxAnomalies {
                            mw.append(Anomaly(
                                kind: "monotonic-writes",
                                message: "read of key \(Checker.display(ops[op].key)) returned \(v) after its session saw a write that followed a write of \(floorW[k].value)",
                                operations: [ops[floorW[k].op], ops[floorSeenVia[2 * k]], ops[op]]))
                        }
                    }
                    if view.definitelyBefore(key, v, floorR[k].value) {
                        wfrCount += 1
                        if wfr.count < maxAnomalies {
                            wfr.append(Anomaly(
                                kind: "writes-follow-reads",
                                message: "read of key \(Checker.display(ops[op].key)) returned \(v) after its session saw a write that followed a read of \(floorR[k].value)",
                                operations: [ops[floorR[k].op], ops[floorSeenVia[2 * k + 1]], ops[op]]))
                        }
                    }
                }
                // Observing another session's write inherits what that session did before it.
                guard case .some(.some(let w)) = writer[k]?[v], w.session != p, folded[w.session] < w.index else { continue }
                let source = sessions[w.session]
                for j in folded[w.session]..<w.index {
                    let d = source[j]
                    let dk = Int(keyOf[d])
                    let dv = valueOf[d]
                    if isWrite[d] {
                        if dv > floorW[dk].value { floorW[dk] = Floor(index: j, value: dv, op: d); floorSeenVia[2 * dk] = w.op }
                    } else if dv > floorR[dk].value {
                        floorR[dk] = Floor(index: j, value: dv, op: d)
                        floorSeenVia[2 * dk + 1] = w.op
                    }
                }
                folded[w.session] = w.index
            }
        }
        let mwResult = CheckResult(
            kind: .monotonicWrites, verdict: mwCount > 0 ? .invalid : .valid,
            summary: "\(checked) reads" + (mwCount > 0 ? "; \(mwCount) saw a write without the writes its session made before it" : "; none saw a write without its session's earlier writes"),
            details: ["reads": .int(Int64(checked)), "violations": .int(Int64(mwCount))], anomalies: mw, anomalyCount: mwCount)
        let wfrResult = CheckResult(
            kind: .writesFollowReads, verdict: wfrCount > 0 ? .invalid : .valid,
            summary: "\(checked) reads" + (wfrCount > 0 ? "; \(wfrCount) saw a write without what its session had read before it" : "; none saw a write without what its session had read before it"),
            details: ["reads": .int(Int64(checked)), "violations": .int(Int64(wfrCount))], anomalies: wfr, anomalyCount: wfrCount)
        return (mwResult, wfrResult)
    }
}

extension CheckKind {
    public static let monotonicWrites = CheckKind(rawValue: "monotonic_writes")
    public static let writesFollowReads = CheckKind(rawValue: "writes_follow_reads")
}

/// `monotonic_writes`: a session's writes land in the order it made them.
public struct MonotonicWritesCheck: Check {
    public static let kind = CheckKind.monotonicWrites
    public static var fields: [CheckField<Self>] { [] }
    public init() {}

    public func run(_ context: CheckContext, window: TimeWindow) -> CheckResult? {
        if context.integerView.isEmpty { return context.unsupported(Self.kind) }
        return context.causalResults(window).monotonicWrites
    }
}

/// `writes_follow_reads`: a write made after reading a value lands after that value.
public struct WritesFollowReadsCheck: Check {
    public static let kind = CheckKind.writesFollowReads
    public static var fields: [CheckField<Self>] { [] }
    public init() {}

    public func run(_ context: CheckContext, window: TimeWindow) -> CheckResult? {
        if context.integerView.isEmpty { return context.unsupported(Self.kind) }
        return context.causalResults(window).writesFollowReads
    }
}
