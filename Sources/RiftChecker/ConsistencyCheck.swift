import Foundation
import RiftCore
import RiftHistory

extension CheckKind {
    public static let consistency = CheckKind(rawValue: "consistency")
}

/// Nines of reads consistent within a window T: Meta's "N nines consistent within T", read-side,
/// and PBS's t-visibility. A read is consistent within T when it is stale by at most T, by the
/// staleness the `staleness` check measures (`ReadStaleness.staleForNs`: how long ago a surely
/// newer write had completed when the read began). Fraction = consistent reads / ok reads;
/// nines = -log10(1 - fraction).
public enum ConsistencyMeasure {
    public struct Summary: Sendable, Equatable {
        public var reads: Int
        public var consistent: Int
        public var fraction: Double
        /// -log10(1 - fraction); with every read consistent, log10(reads), the most that many
        /// reads can show (`capped`).
        public var nines: Double
        public var capped: Bool
    }

    /// Nil without reads: nothing is shown either way.
    public static func summary(reads: Int, consistent: Int) -> Summary? {
        guard reads > 0 else { return nil }
        let fraction = Double(consistent) / Double(reads)
        if consistent == reads {
            return Summary(reads: reads, consistent: consistent, fraction: 1, nines: log10(Double(reads)), capped: true)
        }
        // 0 - log10(1) would print as -0.00.
        return Summary(reads: reads, consistent: consistent, fraction: fraction, nines: consistent == 0 ? 0 : -log10(1 - fraction), capped: false)
    }

    /// The windows of the t-visibility curve: 0, then 1-2-5 steps from 1 µs up to the first
    /// step at or past `maxStaleNs` (so the curve ends at 1), and `withinNs` itself.
    public static func grid(maxStaleNs: Int64, withinNs: Int64) -> [Int64] {
        var out: Set<Int64> = [0, withinNs]
        var decade: Int64 = 1_000
        outer: while true {
            for m: Int64 in [1, 2, 5] {
                let t = m * decade
                out.insert(t)
                if t >= maxStaleNs { break outer }
            }
            if decade > Int64.max / 100 { break }
            decade *= 10
        }
        return out.sorted()
    }

    /// For each window of `grid`, the fraction of `staleFor` (each read's staleness) at or
    /// under it. `staleFor` need not be sorted.
    public static func curve(_ staleFor: [Int64], grid: [Int64]) -> [(withinNs: Int64, fraction: Double)] {
        guard !staleFor.isEmpty else { return [] }
        let sorted = staleFor.sorted()
        // Reads at or under t: the first index past t.
        return grid.map { t in (t, Double(upperBound(sorted, t)) / Double(sorted.count)) }
    }
}

/// `consistency`: the nines of ok reads consistent within `within`, overall and per node, with
/// the t-visibility curve; against `min_nines` when given (without it, it only measures).
/// Every read consistent shows at most log10(reads) nines: a `min_nines` above that is unknown,
/// not met, since the run had too few reads to show it.
public struct ConsistencyCheck: Check {
    public static let kind = CheckKind.consistency
    /// Needs `within`: not among the checks run when none is named.
    public static var runsByDefault: Bool { false }
    public var withinNs: Int64?
    public var minNines: Double?

    public init() {}
    public init(withinNs: Int64?, minNines: Double? = nil) {
        self.withinNs = withinNs
        self.minNines = minNines
    }

    public static var fields: [CheckField<Self>] {
        [.init("within", .duration(\.withinNs, scales: true)), .init("min_nines", .number(\.minNines, 0...15))]
    }

    public func validate() throws(CheckSettingsError) {
        if withinNs == nil { throw CheckSettingsError(field: "within", message: "required: the window T a read may lag by (e.g. 100ms)") }
    }

    public func run(_ context: CheckContext, window: TimeWindow) -> CheckResult? {
        let view = context.integerView
        if view.isEmpty { return context.unsupported(Self.kind) }
        let within = withinNs ?? 0
        let ops = context.operations
        let measured = context.readStaleness.filter { window.contains(ops[$0.operation].invokeTime) }
        guard let overall = ConsistencyMeasure.summary(reads: measured.count, consistent: measured.filter { $0.staleForNs <= within }.count) else {
            return CheckResult(kind: Self.kind, verdict: .unknown, summary: "no ok reads in the window: nothing is shown",
                               details: ["within_ns": .int(within), "reads": .int(0)])
        }
        var perNode: [String: [ReadStaleness]] = [:]
        for r in measured { perNode[ops[r.operation].node ?? "-", default: []].append(r) }
        func json(_ s: ConsistencyMeasure.Summary) -> HistoryValue {
            .object([
                "reads": .int(Int64(s.reads)), "consistent": .int(Int64(s.consistent)),
                "fraction": .double(s.fraction), "nines": .double(s.nines), "nines_capped": .bool(s.capped),
            ])
        }
        let staleFor = measured.map(\.staleForNs)
        let curve = ConsistencyMeasure.curve(staleFor, grid: ConsistencyMeasure.grid(maxStaleNs: staleFor.max() ?? 0, withinNs: within))
        // The overall figures as each node's, plus the window, the nodes and the curve.
        var details = json(overall).objectValue ?? [:]
        details["within_ns"] = .int(within)
        details["per_node"] = .object(perNode.compactMapValues { rs in
            ConsistencyMeasure.summary(reads: rs.count, consistent: rs.filter { $0.staleForNs <= within }.count).map(json)
        })
        // Per region: each region's clients' reads (when the run placed clients in regions).
        let regions = context.history.clientRegions
        if !regions.isEmpty {
            var perRegion: [String: [ReadStaleness]] = [:]
            for r in measured { if let region = regions[ops[r.operation].process] { perRegion[region, default: []].append(r) } }
            details["per_region"] = .object(perRegion.compactMapValues { rs in
                ConsistencyMeasure.summary(reads: rs.count, consistent: rs.filter { $0.staleForNs <= within }.count).map(json)
            })
        }
        details["t_visibility"] = .list(curve.map { .object(["within_ns": .int($0.withinNs), "fraction": .double($0.fraction)]) })
        if let minNines { details["min_nines"] = .double(minNines) }
        // The worst reads first: the evidence of what "inconsistent" was.
        let late = measured.filter { $0.staleForNs > within }.sorted { $0.staleForNs > $1.staleForNs }
        let anomalies = late.prefix(context.maxAnomalies).map { r in
            let op = ops[r.operation]
            return Anomaly(
                kind: "inconsistent-read",
                message: "read of key \(Checker.display(op.key)) by process \(op.process) on \(op.node ?? "-") returned \(op.output): stale for \(DurationParser.readable(nanoseconds: r.staleForNs)) > \(DurationParser.readable(nanoseconds: within))",
                operations: [op])
        }
        let nines = String(format: "%.2f", overall.nines)
        var summary = "\(overall.consistent) of \(overall.reads) reads consistent within \(DurationParser.readable(nanoseconds: within)): "
            + (overall.capped ? "at least \(nines) nines (every read)" : "\(nines) nines")
        let verdict: Verdict
        switch minNines {
        case nil: verdict = .valid
        case let min? where overall.nines >= min: verdict = .valid
        case let min? where overall.capped:
            verdict = .unknown
            summary += "; \(overall.reads) reads cannot show \(min) nines"
        case let min?:
            verdict = .invalid
            summary += " < \(min)"
        }
        return CheckResult(kind: Self.kind, verdict: verdict, summary: summary, details: details, anomalies: Array(anomalies), anomalyCount: late.count)
    }
}
