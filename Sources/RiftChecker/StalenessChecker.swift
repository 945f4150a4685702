import RiftCore
import RiftHistory

/// How far behind one read was.
public struct ReadStaleness: Sendable, Equatable {
    public var operation: Int
    /// Distinct values of `ok` writes that completed before the read was invoked and were invoked
    /// after the write of the value read had completed (so surely newer; a write concurrent with
    /// it may have landed first and is not counted).
    public var versionsBehind: Int
    /// The read's invocation time minus the earliest completion among those writes (0 if none).
    public var staleForNs: Int64
}

/// Staleness of `ok` reads, for histories whose integer values grow per key in write order.
///
/// Per key: writes sorted by completion, reads by invocation; a sweep inserts each write that
/// completed before the read's invocation into two Fenwick trees over the ranks of the writes'
/// invocation times: one counting distinct values, one keeping the earliest completion (a value
/// is inserted once, at its earliest completion, so the minimum only ever decreases). A read
/// asks for the ranks invoked after its own value's write completed. O((reads + writes) log writes).
public enum StalenessChecker {
    public static func measure(_ history: PairedHistory, window: TimeWindow = .all) -> [ReadStaleness] {
        measure(history.operations, IntegerView(history.operations, nullReads: history.nullReads), window: window)
    }

    static func measure(_ ops: [HistoryOperation], _ view: IntegerView, window: TimeWindow) -> [ReadStaleness] {
        var out: [ReadStaleness] = []
        for key in view.keys {
            let reads = (view.reads[key] ?? []).filter { window.contains(ops[$0.op].invokeTime) }
                .sorted { ops[$0.op].invokeTime < ops[$1.op].invokeTime }
            if reads.isEmpty { continue }
            let writes = (view.writes[key] ?? []).sorted { ops[$0.op].completeTime! < ops[$1.op].completeTime! }
            let values = Array(Set(writes.map(\.value)))
            // Two orders of the written values: by when their write was invoked (for reads of a
            // written value: newer = invoked after its write completed), and by value (for reads
            // of a value with no write, ordered as versions).
            let invoked = values.map { view.writeInvoked(key, $0) }
            let byInvoke = values.indices.sorted { (invoked[$0], values[$0]) < (invoked[$1], values[$1]) }
            let sortedInvoked = byInvoke.map { invoked[$0] }
            let sortedValues = values.sorted()
            var invokeRank: [Int64: Int] = [:], valueRank: [Int64: Int] = [:]
            for (rank, i) in byInvoke.enumerated() { invokeRank[values[i]] = rank }
            for (rank, v) in sortedValues.enumerated() { valueRank[v] = rank }
            var newerByInvoke = SuffixCountMin(count: values.count)
            var newerByValue = SuffixCountMin(count: values.count)
            var seen = Set<Int64>()
            var w = 0
            for read in reads {
                let t = ops[read.op].invokeTime
                while w < writes.count, ops[writes[w].op].completeTime! < t {
                    let v = writes[w].value
                    // Each value once, at its earliest completion (writes are in completion order).
                    if seen.insert(v).inserted {
                        let c = ops[writes[w].op].completeTime!
                        newerByInvoke.insert(rank: invokeRank[v]!, time: c)
                        newerByValue.insert(rank: valueRank[v]!, time: c)
                    }
                    w += 1
                }
                let (behind, earliest) = view.isWritten(key, read.value)
                    ? newerByInvoke.query(from: upperBound(sortedInvoked, view.writeCompleted(key, read.value)))
                    : newerByValue.query(from: upperBound(sortedValues, read.value))
                out.append(ReadStaleness(operation: read.op, versionsBehind: behind, staleForNs: behind > 0 && earliest != .max ? t - earliest : 0))
            }
        }
        return out
    }

    /// Judges `measured` (the reads of the window, from `measure`) against the bounds.
    static func check(_ ops: [HistoryOperation], _ view: IntegerView, measured: [ReadStaleness], maxStalenessNs: Int64?, maxVersionsBehind: Int?, maxAnomalies: Int) -> CheckResult {
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

extension CheckKind {
    public static let staleness = CheckKind(rawValue: "staleness")
}

/// `staleness`: how far behind each read was, against `max_staleness` and/or
/// `max_versions_behind` (without either it only measures).
public struct StalenessCheck: Check {
    public static let kind = CheckKind.staleness
    public var maxStalenessNs: Int64?
    public var maxVersionsBehind: Int?
    /// The nodes the workload reads from: a window without a read from one of them shows
    /// nothing about it, so the check is unknown, not valid (set by the runner).
    public var requireReadsFrom: [String]?

    public init() {}
    public init(maxStalenessNs: Int64? = nil, maxVersionsBehind: Int? = nil, requireReadsFrom: [String]? = nil) {
        self.maxStalenessNs = maxStalenessNs
        self.maxVersionsBehind = maxVersionsBehind
        self.requireReadsFrom = requireReadsFrom
    }

    public static var fields: [CheckField<Self>] {
        [
            .init("max_staleness", .duration(\.maxStalenessNs, scales: true)),
            .init("max_versions_behind", .count(\.maxVersionsBehind, 0...1_000_000)),
            .init("require_reads_from", .nodes(\.requireReadsFrom), inScenario: false),
        ]
    }

    public func expectingReads(from nodes: [String]) -> StalenessCheck {
        var c = self
        c.requireReadsFrom = nodes
        return c
    }

    public func run(_ context: CheckContext, window: TimeWindow) -> CheckResult? {
        let view = context.integerView
        if view.isEmpty { return context.unsupported(Self.kind) }
        let ops = context.operations
        let measured = context.readStaleness.filter { window.contains(ops[$0.operation].invokeTime) }
        var r = StalenessChecker.check(ops, view, measured: measured, maxStalenessNs: maxStalenessNs, maxVersionsBehind: maxVersionsBehind,
                                       maxAnomalies: context.maxAnomalies)
        let perNode = r.details["per_node"]?.objectValue ?? [:]
        let missing = (requireReadsFrom ?? []).filter { n in (perNode[n]?.objectValue?["reads"]?.intValue ?? 0) == 0 }
        if !missing.isEmpty {
            r.verdict = r.verdict.combined(with: .unknown)
            r.summary += "; no reads from \(missing.joined(separator: ", ")) in the window, so nothing is shown for them (is the run long enough?)"
        }
        return r
    }
}

/// Distinct items at ranks 0..<count, each inserted once with a time: how many sit at ranks
/// `>= r`, and the earliest time among them. Two Fenwick trees, O(log count) per call.
struct SuffixCountMin {
    private var counts: [Int]
    private var earliest: [Int64]  // over reversed ranks, so that "ranks >= r" is a prefix
    private var total = 0

    init(count: Int) {
        counts = [Int](repeating: 0, count: count + 1)
        earliest = [Int64](repeating: .max, count: count + 1)
    }

    mutating func insert(rank: Int, time: Int64) {
        let m = counts.count - 1
        total += 1
        var i = rank + 1
        while i <= m { counts[i] += 1; i += i & -i }
        var j = m - rank
        while j <= m { earliest[j] = min(earliest[j], time); j += j & -j }
    }

    /// (items at ranks >= r, earliest time among them or `.max`).
    func query(from r: Int) -> (count: Int, earliest: Int64) {
        let m = counts.count - 1
        var below = 0
        var i = r
        while i > 0 { below += counts[i]; i -= i & -i }
        var e = Int64.max
        var j = m - r
        while j > 0 { e = min(e, earliest[j]); j -= j & -j }
        return (total - below, e)
    }
}

func upperBound(_ a: [Int64], _ x: Int64) -> Int {
    var lo = 0, hi = a.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if a[mid] <= x { lo = mid + 1 } else { hi = mid }
    }
    return lo
}
