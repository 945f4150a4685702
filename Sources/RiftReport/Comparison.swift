import Foundation
import RiftChecker
import RiftCore
import RiftHistory

/// `rift compare`'s result: the variants of one scenario side by side, each with its settings,
/// its checks' verdicts and the bad outcomes it traded (stale reads, consistency, origin load,
/// errors, tail latency), as compare.json, compare.html and a text table.
public struct Comparison: Sendable {
    /// What one run measured. Nil where the run does not measure it (no origin without a
    /// cache-aside workload, no nines without reads).
    public struct Metrics: Sendable, Equatable {
        public var originPeakInflight: Int?
        public var staleReads: Int
        public var maxStalenessNs: Int64
        public var consistencyNines: Double?
        /// Operations that failed or whose outcome is unknown (`fail` + `info`).
        public var errors: Int
        public var p99Ns: Int64
        /// Acknowledged writes lost, from the run's `lost_writes` check (nil without one).
        public var lostWrites: Int?
        /// The longest time the client regions' reads of a key disagreed (nil without regions).
        public var maxDivergenceNs: Int64?
        /// Nines of each client region's reads consistent within the window (empty without regions).
        public var regionNines: [String: Double]

        public init(originPeakInflight: Int?, staleReads: Int, maxStalenessNs: Int64, consistencyNines: Double?, errors: Int, p99Ns: Int64,
                    lostWrites: Int? = nil, maxDivergenceNs: Int64? = nil, regionNines: [String: Double] = [:]) {
            self.originPeakInflight = originPeakInflight
            self.staleReads = staleReads
            self.maxStalenessNs = maxStalenessNs
            self.consistencyNines = consistencyNines
            self.errors = errors
            self.p99Ns = p99Ns
            self.lostWrites = lostWrites
            self.maxDivergenceNs = maxDivergenceNs
            self.regionNines = regionNines
        }

        /// Measures a finished run from its record and history: stale reads by the checker's
        /// staleness, nines of reads consistent within `withinNs` (over every read and per
        /// client region), p99 of `ok` operations, the divergence between regions.
        public static func measure(_ record: RunRecord, history: PairedHistory, withinNs: Int64) -> Metrics {
            let staleness = CheckContext(history).readStaleness
            let stale = staleness.filter { $0.versionsBehind > 0 }
            let nines = ConsistencyMeasure.summary(reads: staleness.count, consistent: staleness.filter { $0.staleForNs <= withinNs }.count)?.nines
            let latencies = history.operations.compactMap { op -> Int64? in
                guard op.status == .ok, let c = op.completeTime else { return nil }
                return c - op.invokeTime
            }.sorted()
            let p99 = latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))]
            let lost = record.checks.compactMap { $0.spec.kind == .lostWrites ? $0.result?.details["lost"]?.intValue : nil }.max()
            let regionOf = history.clientRegions
            var byRegion: [String: (reads: Int, consistent: Int)] = [:]
            for r in staleness {
                guard let region = regionOf[history.operations[r.operation].process] else { continue }
                byRegion[region, default: (0, 0)].reads += 1
                if r.staleForNs <= withinNs { byRegion[region, default: (0, 0)].consistent += 1 }
            }
            let regionNines = byRegion.compactMapValues { ConsistencyMeasure.summary(reads: $0.reads, consistent: $0.consistent)?.nines }
            return Metrics(
                originPeakInflight: record.cacheAside?.peakInFlight, staleReads: stale.count,
                maxStalenessNs: staleness.map(\.staleForNs).max() ?? 0, consistencyNines: nines,
                errors: record.operations.fail + record.operations.info, p99Ns: p99, lostWrites: lost.map(Int.init),
                maxDivergenceNs: record.divergence?.maxNs, regionNines: regionNines)
        }

        /// The metrics by name, in the order tables show them.
        public var named: [(name: String, value: Double?)] {
            [
                ("stale_reads", Double(staleReads)), ("max_staleness_ns", Double(maxStalenessNs)),
                ("consistency_nines", consistencyNines), ("origin_peak_inflight", originPeakInflight.map(Double.init)),
                ("errors", Double(errors)), ("p99_ns", Double(p99Ns)), ("lost_writes", lostWrites.map(Double.init)),
                ("max_divergence_ns", maxDivergenceNs.map(Double.init)),
            ]
        }

        /// The median of each metric over runs (nil where no run measured it).
        public static func median(_ runs: [Metrics]) -> Metrics {
            func mid(_ xs: [Double]) -> Double? {
                guard !xs.isEmpty else { return nil }
                let s = xs.sorted()
                return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
            }
            func col(_ i: Int) -> Double? { mid(runs.compactMap { $0.named[i].value }) }
            return Metrics(
                originPeakInflight: col(3).map { Int($0.rounded()) }, staleReads: Int((col(0) ?? 0).rounded()),
                maxStalenessNs: Int64((col(1) ?? 0).rounded()), consistencyNines: col(2),
                errors: Int((col(4) ?? 0).rounded()), p99Ns: Int64((col(5) ?? 0).rounded()), lostWrites: col(6).map { Int($0.rounded()) },
                maxDivergenceNs: col(7).map { Int64($0.rounded()) },
                regionNines: Dictionary(uniqueKeysWithValues: Set(runs.flatMap(\.regionNines.keys)).compactMap { r in
                    mid(runs.compactMap { $0.regionNines[r] }).map { (r, $0) }
                }))
        }
    }

    public struct Run: Sendable {
        public var seed: UInt64
        public var directory: String
        public var verdict: Verdict
        public var checks: [(name: String, verdict: Verdict)]
        public var metrics: Metrics

        public init(seed: UInt64, directory: String, verdict: Verdict, checks: [(name: String, verdict: Verdict)], metrics: Metrics) {
            self.seed = seed
            self.directory = directory
            self.verdict = verdict
            self.checks = checks
            self.metrics = metrics
        }
    }

    public struct Variant: Sendable {
        /// `path -> value` as given to `--vary` (`none`: unset).
        public var settings: [(path: String, value: String)]
        public var runs: [Run]

        public init(settings: [(path: String, value: String)], runs: [Run] = []) {
            self.settings = settings
            self.runs = runs
        }

        /// The worst verdict over its runs.
        public var verdict: Verdict { Verdict.combine(runs.map(\.verdict)) }
        public var metrics: Metrics { Metrics.median(runs.map(\.metrics)) }
        public var label: String { settings.map { "\($0.path)=\($0.value)" }.joined(separator: " ") }
    }

    public var scenario: String
    /// The window of the consistency nines.
    public var withinNs: Int64
    public var variants: [Variant]

    public init(scenario: String, withinNs: Int64, variants: [Variant]) {
        self.scenario = scenario
        self.withinNs = withinNs
        self.variants = variants
    }

    // MARK: compare.json

    public func json() -> String {
        func metricsJSON(_ m: Metrics) -> HistoryValue {
            var o: [String: HistoryValue] = [:]
            for (name, value) in m.named {
                guard let value else { o[name] = .null; continue }
                o[name] = name == "consistency_nines" ? .double(value) : .int(Int64(value))
            }
            if !m.regionNines.isEmpty { o["consistency_nines_by_region"] = .object(m.regionNines.mapValues { .double($0) }) }
            return .object(o)
        }
        let variants: [HistoryValue] = variants.map { v in
            var settings: [String: HistoryValue] = [:]
            for s in v.settings { settings[s.path] = s.value == "none" ? .null : HistoryValue(scalarText: s.value) }
            let checkNames = v.runs.first?.checks.map(\.name) ?? []
            let checks: [HistoryValue] = checkNames.enumerated().map { i, name in
                let verdicts = v.runs.map { $0.checks.indices.contains(i) ? $0.checks[i].verdict : .unknown }
                return .object(["name": .string(name), "verdict": .string(Verdict.combine(verdicts).label),
                                "per_seed": .list(verdicts.map { .string($0.label) })])
            }
            var ranges: [String: HistoryValue] = [:]
            for (i, (name, _)) in v.metrics.named.enumerated() {
                let xs = v.runs.compactMap { $0.metrics.named[i].value }
                if let lo = xs.min(), let hi = xs.max() { ranges[name] = .list([.double(lo), .double(hi)]) }
            }
            return .object([
                "settings": .object(settings), "verdict": .string(v.verdict.label), "checks": .list(checks),
                "metrics": metricsJSON(v.metrics), "range": .object(ranges),
                "runs": .list(v.runs.map { r in
                    .object(["seed": .int(Int64(bitPattern: r.seed)), "run_folder": .string(r.directory),
                             "verdict": .string(r.verdict.label), "metrics": metricsJSON(r.metrics)])
                }),
            ])
        }
        return HistoryValue.object([
            "scenario": .string(scenario), "consistency_within_ns": .int(withinNs), "variants": .list(variants),
        ]).description + "\n"
    }

    // MARK: the tables

    /// One row per variant: its settings, verdict, and the median of each outcome (with the
    /// range over seeds when there is more than one).
    public func rows() -> [[String]] {
        let paths = variants.first?.settings.map(\.path) ?? []
        let regional = variants.contains { !$0.metrics.regionNines.isEmpty }
        var rows = [paths + ["VERDICT", "STALE READS", "MAX STALE", "NINES@\(DurationParser.readable(nanoseconds: withinNs))", "ORIGIN PEAK", "ERRORS", "P99", "LOST WRITES"]
            + (regional ? ["MAX DIVERGENCE", "NINES BY REGION"] : [])]
        for v in variants {
            let m = v.metrics
            func range(_ i: Int, _ show: (Double) -> String) -> String {
                let xs = v.runs.compactMap { $0.metrics.named[i].value }
                guard let mid = m.named[i].value else { return "-" }
                guard xs.count > 1, let lo = xs.min(), let hi = xs.max(), lo != hi else { return show(mid) }
                return "\(show(mid)) (\(show(lo))-\(show(hi)))"
            }
            let ns = { (x: Double) in DurationParser.readable(nanoseconds: Int64(x)) }
            let count = { (x: Double) in String(Int(x.rounded())) }
            rows.append(v.settings.map(\.value) + [
                v.verdict.label, range(0, count), range(1, ns), range(2) { String(format: "%.2f", $0) }, range(3, count),
                range(4, count), range(5, ns), range(6, count),
            ] + (regional ? [range(7, ns), m.regionNines.isEmpty ? "-" : m.regionNines.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.2f", $0.value))" }.joined(separator: ", ")] : []))
        }
        return rows
    }

    // MARK: compare.html

    /// A variant by its values only (the paths head the table), short enough for a chart's label column.
    static func shortLabel(_ v: Variant) -> String {
        let text = v.settings.map(\.value).joined(separator: ", ")
        return text.count <= 48 ? text : String(text.prefix(47)) + "…"
    }

    /// A self-contained page: the table, then one bar chart per outcome across the variants.
    public func html() -> String {
        let table = rows()
        var html = "<!doctype html><html><head><meta charset='utf-8'><title>\(HTMLReport.escape(scenario)): compare</title>"
        html += "<style>body{font-family:sans-serif;margin:20px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.pass{color:#2a7}.fail{color:#c22;font-weight:bold}.unknown{color:#a70}</style></head><body>"
        html += "<h1>\(HTMLReport.escape(scenario)): \(variants.count) variants</h1>"
        html += "<p>Each variant ran on the same seeds; values are medians over seeds (range in brackets). Consistency nines: reads stale by at most \(DurationParser.readable(nanoseconds: withinNs)).</p><table>"
        for (i, row) in table.enumerated() {
            let cells = row.map { HTMLReport.escape($0) }
            if i == 0 {
                html += "<tr>" + cells.map { "<th>\($0)</th>" }.joined() + "</tr>"
            } else {
                let verdictColumn = variants[i - 1].settings.count
                html += "<tr>" + cells.enumerated().map { j, c in j == verdictColumn ? "<td class='\(c.lowercased())'>\(c)</td>" : "<td>\(c)</td>" }.joined() + "</tr>"
            }
        }
        html += "</table>"
        html += "<p>In the charts each variant is named by its values (\(HTMLReport.escape(variants.first?.settings.map(\.path).joined(separator: ", ") ?? ""))), in the table's order.</p>"
        let titles = ["stale reads", "max staleness", "consistency nines", "origin peak in flight", "errors (fail + info)", "p99 latency", "lost writes", "max divergence between regions"]
        for (i, title) in titles.enumerated() {
            let values = variants.map { $0.metrics.named[i].value }
            guard let top = values.compactMap({ $0 }).max() else { continue }
            let barHeight = 22.0, labelWidth = 320.0, width = 760.0
            var svg = "<svg class='bars' xmlns='http://www.w3.org/2000/svg' width='\(Int(width))' height='\(Int(Double(variants.count) * barHeight + 10))' font-family='sans-serif' font-size='11'>"
            for (j, v) in variants.enumerated() {
                let y = Double(j) * barHeight + 4
                svg += "<text x='0' y='\(HTMLReport.f(y + 13))'>\(HTMLReport.escape(Self.shortLabel(v)))<title>\(HTMLReport.escape(v.label))</title></text>"
                guard let value = values[j] else { svg += "<text x='\(Int(labelWidth))' y='\(HTMLReport.f(y + 13))' fill='#999'>not measured</text>"; continue }
                let w = top > 0 ? value / top * (width - labelWidth - 90) : 0
                svg += "<rect x='\(Int(labelWidth))' y='\(HTMLReport.f(y))' width='\(HTMLReport.f(max(w, 1)))' height='\(Int(barHeight - 6))' fill='#1f77b4'/>"
                svg += "<text x='\(HTMLReport.f(labelWidth + max(w, 1) + 4))' y='\(HTMLReport.f(y + 13))'>\(HTMLReport.escape(table[j + 1][variants[j].settings.count + 1 + i]))</text>"
            }
            html += "<h2>\(title)</h2>" + svg + "</svg>"
        }
        return html + "</body></html>\n"
    }
}
