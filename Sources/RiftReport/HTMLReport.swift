import RiftChecker
import RiftCore
import RiftHistory

/// `report.html`: one self-contained page (no scripts, no fetches) with the verdict, each check,
/// and a timeline of every operation per node with the faults shaded and stale reads marked.
/// It draws what the checker found (the run's record, each read's staleness) and the history's
/// nemesis windows; it analyses nothing itself. Past `maxMarks` operations a chart draws bins
/// per pixel column, while the anomalies' operations are still drawn one by one: a 600k-operation
/// run stays a few megabytes that a browser draws in seconds.
public enum HTMLReport {
    /// Most single marks in a chart; beyond it the chart is drawn in bins per pixel column.
    public static let maxMarks = 4_000

    public static func render(_ record: RunRecord, history: PairedHistory, staleness: [ReadStaleness]) -> String {
        let page = Page(record, history: history, staleness: staleness)
        var rows = ""
        for o in record.checks {
            let v = o.verdict.label
            rows += "<tr class='\(v.lowercased())'><td>\(escape(o.spec.name))</td><td>\(o.spec.kind.rawValue)</td><td>\(escape(o.spec.windowLabel))</td><td>\(v)</td><td>\(escape(o.error ?? o.result?.summary ?? ""))</td></tr>"
            if let a = o.result?.anomalies.first {
                rows += "<tr><td colspan='5'><pre>\(escape(a.message + "\n" + OperationTable.render(a.operations, roles: a.roles, indent: "  ")))</pre></td></tr>"
            }
        }
        if record.checks.isEmpty { rows = "<tr class='unknown'><td colspan='5'>no check ran: nothing is shown to hold</td></tr>" }
        let verdict = record.verdict.label
        let counts = record.operations
        return """
            <!doctype html><html><head><meta charset='utf-8'><title>\(escape(record.scenario)): \(verdict)</title>
            <style>body{font-family:sans-serif;margin:20px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
            tr.pass td:nth-child(4){color:#2a7}tr.fail td:nth-child(4){color:#c22;font-weight:bold}tr.unknown td:nth-child(4){color:#a70}td.bad{color:#c22;font-weight:bold}pre{margin:0;font-size:11px}</style></head><body>
            <h1>\(escape(record.scenario)): \(verdict)</h1>
            <p>topology \(escape(record.topology)), seed \(record.seed), \(counts.ok) ok, \(counts.fail) fail, \(counts.info) info\(record.interrupted ? ", interrupted" : "")</p>
            <table><tr><th>check</th><th>kind</th><th>window</th><th>verdict</th><th>summary</th></tr>\(rows)</table>
            <h2>Operations</h2>
            <p>Per node, writes above and reads below, by invocation time; shaded: faults. Blue: write ok, green: read ok, orange: read stale under 100 ms, red: read stale 100 ms or more, grey: fail, purple: info (unknown).\(page.aggregated ? " \(history.operations.count) operations drawn in bins of one pixel column (the worst colour of the bin wins; hover for counts); anomalies' operations drawn one by one." : "")</p>
            \(nodeTimeline(page))
            \(record.cacheAside.map { originLoadSection($0, faults: page.faults.map { (startNs: $0.start, endNs: $0.end, label: $0.label) }) } ?? "")
            \(HTMLReportSections.render(page))
            </body></html>

            """
    }

    /// Operations per node: one circle each, or bins per pixel column for large histories.
    static func nodeTimeline(_ page: Page) -> String {
        let ops = page.history.operations
        let lane = 70.0
        let nodes = page.nodes
        let height = Double(nodes.count) * lane + 40
        let axis = page.axis
        let laneOf = Dictionary(nodes.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var svg = "<svg xmlns='http://www.w3.org/2000/svg' width='\(Int(axis.width))' height='\(Int(height))' font-family='sans-serif' font-size='11'>"
        for w in page.faults {
            svg += "<rect x='\(f(axis.x(w.start)))' y='0' width='\(f(max(axis.x(w.end) - axis.x(w.start), 1)))' height='\(Int(height - 20))' fill='#f6d7d7'><title>\(escape(w.label))</title></rect>"
            svg += "<text x='\(f(axis.x(w.start) + 3))' y='12' fill='#a33'>\(escape(w.label))</text>"
        }
        for (i, n) in nodes.enumerated() {
            let y = 20 + Double(i) * lane
            svg += "<text x='4' y='\(f(y + lane / 2))'>\(escape(n))</text><line x1='\(Int(axis.left))' x2='\(Int(axis.width))' y1='\(f(y + lane))' y2='\(f(y + lane))' stroke='#ddd'/>"
        }
        func row(_ op: HistoryOperation) -> (lane: Int, y: Double, write: Bool)? {
            guard let node = op.node, let l = laneOf[node] else { return nil }
            let isWrite = op.f == .write || op.f == .put
            return (l, 20 + Double(l) * lane + (isWrite ? lane * 0.3 : lane * 0.7), isWrite)
        }
        func mark(_ op: HistoryOperation, stale: Int64?) -> String {
            guard let r = row(op) else { return "" }
            let tip = "\(op.f) \(op.key) \(op.input) -> \(op.output) \(op.status)" + (stale.map { ", stale for \(DurationParser.readable(nanoseconds: $0))" } ?? "")
            let color = Mark.of(op, stale: stale).color
            return "<circle cx='\(f(axis.x(op.invokeTime)))' cy='\(f(r.y))' r='\(stale != nil ? 2.5 : 1.5)' fill='\(color)'><title>\(escape(tip))</title></circle>"
        }
        if !page.aggregated {
            for op in ops { svg += mark(op, stale: page.stale[op.id]) }
        } else {
            var bins = Bins(columns: Int(axis.width), rows: nodes.count * 2)
            for op in ops {
                guard let r = row(op) else { continue }
                bins.add(row: r.lane * 2 + (r.write ? 0 : 1), column: Int(axis.x(op.invokeTime)), Mark.of(op, stale: page.stale[op.id]), staleNs: page.stale[op.id] ?? 0)
            }
            svg += bins.svg { row in (20 + Double(row / 2) * lane + (row % 2 == 0 ? lane * 0.3 : lane * 0.7) - 3, 6) }
            for op in ops where page.marked[op.id] != nil { svg += mark(op, stale: page.stale[op.id]) }
        }
        svg += axis.ticks(height: height) + "</svg>"
        return svg
    }

    static func f(_ v: Double) -> String { String(Double(Int((v * 10).rounded())) / 10) }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'": out += "&#39;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// What every chart of one page shares: the axis, the fault windows, each stale read, and the
/// operations of the listed anomalies (numbered as the anomaly list numbers them).
struct Page {
    let record: RunRecord
    let history: PairedHistory
    let staleness: [ReadStaleness]
    let axis: Axis
    let faults: [(start: Int64, end: Int64, label: String)]
    /// Operation index -> how long it was stale (stale reads only).
    let stale: [Int: Int64]
    /// Operation id -> the number of its first listed anomaly.
    let marked: [Int: Int]
    let nodes: [String]
    let aggregated: Bool

    /// Most anomalies listed per check.
    static let maxListed = 20

    init(_ record: RunRecord, history: PairedHistory, staleness: [ReadStaleness]) {
        self.record = record
        self.history = history
        self.staleness = staleness
        axis = Axis(history)
        faults = Self.faultWindows(history, end: axis.tEnd)
        var stale: [Int: Int64] = [:]
        for r in staleness where r.staleForNs > 0 { stale[r.operation] = r.staleForNs }
        self.stale = stale
        var marked: [Int: Int] = [:], n = 0
        for o in record.checks {
            for a in (o.result?.anomalies ?? []).prefix(Self.maxListed) {
                n += 1
                for op in a.operations where marked[op.id] == nil { marked[op.id] = n }
            }
        }
        self.marked = marked
        // Nodes a workload names beyond the topology's (a near cache: `n1-near`) get lanes too.
        let known = record.nodes
        nodes = known + Set(history.operations.compactMap(\.node)).subtracting(known).sorted { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }
        aggregated = history.operations.count > HTMLReport.maxMarks
    }

    /// Fault windows: each nemesis `start` until the next `stop` (or the end), with its label.
    static func faultWindows(_ history: PairedHistory, end: Int64) -> [(start: Int64, end: Int64, label: String)] {
        var openAt: Int64?, label = "", windows: [(Int64, Int64, String)] = []
        for e in history.nemesis {
            if e.f == "start", openAt == nil {
                openAt = e.time
                label = e.value.objectValue?["directive"]?.stringValue ?? "fault"
            } else if e.f == "stop", let s = openAt {
                windows.append((s, e.time, label))
                openAt = nil
            }
        }
        if let s = openAt { windows.append((s, end, label)) }
        return windows
    }
}

/// The time axis every chart shares: from the first event to the last.
struct Axis {
    var t0: Int64
    var tEnd: Int64
    var left = 60.0
    var width = 1000.0
    var span: Double { max(Double(tEnd - t0), 1) }
    func x(_ t: Int64) -> Double { left + Double(t - t0) / span * (width - left - 10) }

    init(_ history: PairedHistory) {
        let ops = history.operations
        t0 = min(ops.first?.invokeTime ?? 0, history.nemesis.first?.time ?? .max)
        tEnd = max(ops.map { $0.completeTime ?? $0.invokeTime }.max() ?? t0, history.nemesis.last?.time ?? t0)
    }

    /// Second marks along the bottom of a chart `height` high (at most about 20).
    func ticks(height: Double) -> String {
        var svg = ""
        let step = max(1, Int(span / 1e9) / 20)
        for s in stride(from: 0, through: max(Int(span / 1e9), 0), by: step) {
            svg += "<text x='\(HTMLReport.f(x(t0 + Int64(s) * 1_000_000_000)))' y='\(Int(height - 5))' text-anchor='middle' fill='#666'>\(s)s</text>"
        }
        return svg
    }
}
