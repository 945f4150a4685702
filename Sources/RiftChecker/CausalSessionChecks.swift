import RiftHistory

/// Monotonic writes and writes-follow-reads, observed through reads, for histories whose values
/// grow per key in write order and identify their write (a value written once per key).
///
/// A write w by session S carries what S had done before it: the values S wrote (monotonic
/// writes) and the values S read (writes-follow-reads), per key. Once another session's read
/// returns w's value, its later reads of any key must not return less than those values.
/// Sessions are the events' `session` field, else the process.
enum CausalSessionChecks {
    private struct Floor {
        var index: Int  // position in the session's operations
        var value: Int64
        var op: Int
    }

    static func check(_ ops: [HistoryOperation], _ view: IntegerView, window: TimeWindow, maxAnomalies: Int) -> (monotonicWrites: CheckResult, writesFollowReads: CheckResult) {
        // Intern keys and sessions; session order is invocation order.
        var keyIndex: [String: Int] = [:]
        for (i, k) in view.keys.enumerated() { keyIndex[k] = i }
        var sessionIndex: [String: Int] = [:]
        var sessions: [[Int]] = []
        var relevant: [Int] = []
        for k in view.keys {
            for r in view.reads[k] ?? [] { relevant.append(r.op) }
            for w in view.writes[k] ?? [] { relevant.append(w.op) }
        }
        relevant.sort { ops[$0].invokeTime != ops[$1].invokeTime ? ops[$0].invokeTime < ops[$1].invokeTime : $0 < $1 }
        var valueOf = [Int: Int64]()
        for k in view.keys {
            for r in view.reads[k] ?? [] { valueOf[r.op] = r.value }
            for w in view.writes[k] ?? [] { valueOf[w.op] = w.value }
        }
        var isWrite = Set<Int>()
        for k in view.keys { for w in view.writes[k] ?? [] { isWrite.insert(w.op) } }
        for op in relevant {
            let name = ops[op].session ?? "process \(ops[op].process)"
            let s = sessionIndex[name] ?? { sessionIndex[name] = sessions.count; sessions.append([]); return sessions.count - 1 }()
            sessions[s].append(op)
        }
        let keyCount = max(1, view.keys.count)
        // Running maxima per (session, key) of values written and read, by session position.
        var writeFloors: [Int: [Floor]] = [:]
        var readFloors: [Int: [Floor]] = [:]
        // (key, value) -> (session, position) of its write; nil when the value was written twice.
        var writer: [Int: [Int64: (session: Int, index: Int, op: Int)?]] = [:]
        for (s, list) in sessions.enumerated() {
            for (i, op) in list.enumerated() {
                let k = keyIndex[ops[op].key]!
                let v = valueOf[op]!
                let slot = s * keyCount + k
                if isWrite.contains(op) {
                    let prev = writeFloors[slot]?.last
                    writeFloors[slot, default: []].append(prev.map { $0.value >= v ? Floor(index: i, value: $0.value, op: $0.op) : Floor(index: i, value: v, op: op) } ?? Floor(index: i, value: v, op: op))
                    if writer[k]?[v] != nil { writer[k]![v] = .some(nil) } else { writer[k, default: [:]][v] = (s, i, op) }
                } else {
                    let prev = readFloors[slot]?.last
                    readFloors[slot, default: []].append(prev.map { $0.value >= v ? Floor(index: i, value: $0.value, op: $0.op) : Floor(index: i, value: v, op: op) } ?? Floor(index: i, value: v, op: op))
                }
            }
        }
        /// The floor from session s's operations before position `before` on key k.
        func floor(_ floors: [Int: [Floor]], _ s: Int, _ k: Int, before: Int) -> Floor? {
            guard let list = floors[s * keyCount + k] else { return nil }
            var lo = 0, hi = list.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if list[mid].index < before { lo = mid + 1 } else { hi = mid }
            }
            return lo > 0 ? list[lo - 1] : nil
        }

        var mw: [Anomaly] = [], wfr: [Anomaly] = []
        var mwCount = 0, wfrCount = 0, checked = 0
        for (p, list) in sessions.enumerated() {
            // Per other session: the furthest position observed, and the write observed there.
            var observed: [Int: (index: Int, op: Int)] = [:]
            for op in list where !isWrite.contains(op) {
                let k = keyIndex[ops[op].key]!
                let v = valueOf[op]!
                if window.contains(ops[op].invokeTime) {
                    checked += 1
                    for (s, seen) in observed {
                        if let f = floor(writeFloors, s, k, before: seen.index), v < f.value {
                            mwCount += 1
                            if mw.count < maxAnomalies {
                                mw.append(Anomaly(
                                    kind: "monotonic-writes",
                                    message: "read of key \(Checker.display(ops[op].key)) returned \(v) after its session saw a write that followed a write of \(f.value)",
                                    operations: [ops[f.op], ops[seen.op], ops[op]]))
                            }
                        }
                        if let f = floor(readFloors, s, k, before: seen.index), v < f.value {
                            wfrCount += 1
                            if wfr.count < maxAnomalies {
                                wfr.append(Anomaly(
                                    kind: "writes-follow-reads",
                                    message: "read of key \(Checker.display(ops[op].key)) returned \(v) after its session saw a write that followed a read of \(f.value)",
                                    operations: [ops[f.op], ops[seen.op], ops[op]]))
                            }
                        }
                    }
                }
                if case .some(.some(let w)) = writer[k]?[v], w.session != p, (observed[w.session]?.index ?? -1) < w.index {
                    observed[w.session] = (w.index, w.op)
                }
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
