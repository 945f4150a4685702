import RiftCore
import RiftHistory

/// How far behind one read was.
public struct ReadStaleness: Sendable, Equatable {
    public var operation: Int
    /// Distinct values of `ok` writes greater than the value read that completed before the read
    /// was invoked.
    public var versionsBehind: Int
    /// The read's invocation time minus the earliest completion among those writes (0 if none).
    public var staleForNs: Int64
}

/// Staleness of `ok` reads, for histories whose integer values grow per key in write order.
///
/// Per key: writes sorted by completion, reads by invocation; a sweep inserts each write that
/// completed before the read's invocation into two Fenwick trees over value ranks: one counting
/// distinct values, one keeping the earliest completion (a value is inserted once, at its
/// earliest completion, so the minimum only ever decreases). O((reads + writes) log writes).
public enum StalenessChecker {
    public static func measure(_ history: PairedHistory, window: TimeWindow = .all) -> [ReadStaleness] {
        measure(history.operations, IntegerView(history.operations), window: window)
    }

    static func measure(_ ops: [HistoryOperation], _ view: IntegerView, window: TimeWindow) -> [ReadStaleness] {
        var out: [ReadStaleness] = []
        for key in view.keys {
            let reads = (view.reads[key] ?? []).filter { window.contains(ops[$0.op].invokeTime) }
                .sorted { ops[$0.op].invokeTime < ops[$1.op].invokeTime }
            if reads.isEmpty { continue }
            let writes = (view.writes[key] ?? []).sorted { ops[$0.op].completeTime! < ops[$1.op].completeTime! }
            let values = Array(Set(writes.map(\.value))).sorted()
            let m = values.count
            var seen = [Bool](repeating: false, count: m)
            var countTree = [Int](repeating: 0, count: m + 1)
            // Min tree over reversed ranks so that "ranks > r" is a prefix.
            var minTree = [Int64](repeating: .max, count: m + 1)
            var inserted = 0
            var w = 0
            for read in reads {
                let t = ops[read.op].invokeTime
                while w < writes.count, ops[writes[w].op].completeTime! < t {
                    let rank = lowerBound(values, writes[w].value)
                    if !seen[rank] {
                        seen[rank] = true
                        inserted += 1
                        var i = rank + 1
                        while i <= m { countTree[i] += 1; i += i & -i }
                        let c = ops[writes[w].op].completeTime!
                        var j = m - rank
                        while j <= m { minTree[j] = min(minTree[j], c); j += j & -j }
                    }
                    w += 1
                }
                // Ranks holding values > read.value are [firstGreater, m).
                let firstGreater = upperBound(values, read.value)
                var notGreater = 0
                var i = firstGreater
                while i > 0 { notGreater += countTree[i]; i -= i & -i }
                let behind = inserted - notGreater
                var earliest = Int64.max
                var j = m - firstGreater
                while j > 0 { earliest = min(earliest, minTree[j]); j -= j & -j }
                out.append(ReadStaleness(operation: read.op, versionsBehind: behind, staleForNs: behind > 0 && earliest != .max ? t - earliest : 0))
            }
        }
        return out
    }

    static func check(_ history: PairedHistory, _ view: IntegerView, window: TimeWindow, maxStalenessNs: Int64?, maxVersionsBehind: Int?, maxAnomalies: Int) -> CheckResult {
        let ops = history.operations
        let measured = measure(ops, view, window: window)
        var anomalies: [Anomaly] = []
        var flagged = 0
        for r in measured {
            var reasons: [String] = []
            if let maxStalenessNs, r.staleForNs > maxStalenessNs {
                reasons.append("stale for \(DurationParser.readable(nanoseconds: r.staleForNs)) > \(DurationParser.readable(nanoseconds: maxStalenessNs))")
            }
            if let maxVersionsBehind, r.versionsBehind > maxVersionsBehind {
                reasons.append("\(r.versionsBehind) versions behind > \(maxVersionsBehind)")
            }
            guard !reasons.isEmpty else { continue }
            flagged += 1
            if anomalies.count < maxAnomalies {
                let op = ops[r.operation]
                anomalies.append(Anomaly(kind: "stale-read", message: "read of key \(Checker.display(op.key)) by process \(op.process) returned \(op.output): " + reasons.joined(separator: ", "), operations: [op]))
            }
        }
        func distribution(_ rs: [ReadStaleness]) -> HistoryValue {
            let stale = rs.map(\.staleForNs).sorted()
            let behind = rs.map { Int64($0.versionsBehind) }.sorted()
            return .object([
                "reads": .int(Int64(rs.count)),
                "stale_for_ns": .object(["p50": .int(percentile(stale, 0.5)), "p99": .int(percentile(stale, 0.99)), "max": .int(stale.last ?? 0)]),
                "versions_behind": .object(["p50": .int(percentile(behind, 0.5)), "p99": .int(percentile(behind, 0.99)), "max": .int(behind.last ?? 0)]),
            ])
        }
        var perNode: [String: [ReadStaleness]] = [:]
        for r in measured { perNode[ops[r.operation].node ?? "-", default: []].append(r) }
        var details: [String: HistoryValue] = [
            "reads": .int(Int64(measured.count)),
            "flagged_reads": .int(Int64(flagged)),
            "overall": distribution(measured),
            "per_node": .object(perNode.mapValues(distribution)),
        ]
        if let maxStalenessNs { details["max_staleness_ns"] = .int(maxStalenessNs) }
        if let maxVersionsBehind { details["max_versions_behind"] = .int(Int64(maxVersionsBehind)) }
        if !view.unsupportedKeys.isEmpty { details["skipped_keys"] = .list(view.unsupportedKeys.prefix(20).map { .string($0) }) }
        let stale = measured.map(\.staleForNs).sorted()
        let behind = measured.map(\.versionsBehind).sorted()
        let summary = "\(measured.count) reads; stale_for p50 \(DurationParser.readable(nanoseconds: percentile(stale, 0.5))) p99 \(DurationParser.readable(nanoseconds: percentile(stale, 0.99))) max \(DurationParser.readable(nanoseconds: stale.last ?? 0)); versions_behind max \(behind.last ?? 0)"
            + (flagged > 0 ? "; \(flagged) reads over the bound" : "")
        return CheckResult(kind: .staleness, verdict: flagged > 0 ? .invalid : .valid, summary: summary, details: details, anomalies: anomalies, anomalyCount: flagged)
    }
}

func lowerBound(_ a: [Int64], _ x: Int64) -> Int {
    var lo = 0, hi = a.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if a[mid] < x { lo = mid + 1 } else { hi = mid }
    }
    return lo
}

func upperBound(_ a: [Int64], _ x: Int64) -> Int {
    var lo = 0, hi = a.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if a[mid] <= x { lo = mid + 1 } else { hi = mid }
    }
    return lo
}
