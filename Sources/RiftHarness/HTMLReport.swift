import RiftChecker
import RiftCore
import RiftHistory

/// `report.html`: one self-contained page (no scripts, no fetches) with the verdict, each check,
/// and a timeline of every operation per node with the faults shaded and stale reads marked.
/// Reads the checker's results; the checker knows nothing of it.
public enum HTMLReport {
    /// Most operations drawn; beyond it every n-th is drawn (the counts stay exact).
    static let maxDrawn = 20_000

    public static func render(_ result: RunResult, history: PairedHistory, topology: Topology) -> String {
        let ops = history.operations
        let t0 = min(ops.first?.invokeTime ?? 0, history.nemesis.first?.time ?? .max)
        let tEnd = max(ops.map { $0.completeTime ?? $0.invokeTime }.max() ?? t0, history.nemesis.last?.time ?? t0)
        let span = max(Double(tEnd - t0), 1)
        let width = 1000.0, left = 60.0, lane = 70.0
        let known = topology.nodes.map(\.name)
        // Nodes a workload names beyond the topology's (a near cache: `n1-near`) get lanes too.
        let nodes = known + Set(ops.compactMap(\.node)).subtracting(known).sorted()
        let height = Double(nodes.count) * lane + 40
        func x(_ t: Int64) -> Double { left + Double(t - t0) / span * (width - left - 10) }

        var stale: [Int: Int64] = [:]
        for r in StalenessChecker.measure(history) where r.staleForNs > 0 { stale[r.operation] = r.staleForNs }

        var svg = "<svg xmlns='http://www.w3.org/2000/svg' width='\(Int(width))' height='\(Int(height))' font-family='sans-serif' font-size='11'>"
        for (s, e, l) in HTMLReportSections.faultWindows(history, end: tEnd) {
            svg += "<rect x='\(f(x(s)))' y='0' width='\(f(max(x(e) - x(s), 1)))' height='\(Int(height - 20))' fill='#f6d7d7'><title>\(escape(l))</title></rect>"
            svg += "<text x='\(f(x(s) + 3))' y='12' fill='#a33'>\(escape(l))</text>"
        }
        for (i, n) in nodes.enumerated() {
            let y = 20 + Double(i) * lane
            svg += "<text x='4' y='\(f(y + lane / 2))'>\(escape(n))</text><line x1='\(Int(left))' x2='\(Int(width))' y1='\(f(y + lane))' y2='\(f(y + lane))' stroke='#ddd'/>"
        }
        let stride = max(1, ops.count / maxDrawn)
        for (i, op) in ops.enumerated() where i % stride == 0 || stale[i] != nil {
            guard let node = op.node, let lane0 = nodes.firstIndex(of: node) else { continue }
            let isWrite = op.f == .write || op.f == .put
            let y = 20 + Double(lane0) * lane + (isWrite ? lane * 0.3 : lane * 0.7)
            let color: String
            switch op.status {
            case .ok:
                if let ns = stale[i] { color = ns >= 100_000_000 ? "#d62728" : "#ff9f1c" } else { color = isWrite ? "#1f77b4" : "#2ca02c" }
            case .fail: color = "#7f7f7f"
            case .info: color = "#9467bd"
            }
            let tip = "\(op.f) \(op.key) \(op.input) -> \(op.output) \(op.status)" + (stale[i].map { ", stale for \(DurationParser.readable(nanoseconds: $0))" } ?? "")
            svg += "<circle cx='\(f(x(op.invokeTime)))' cy='\(f(y))' r='\(stale[i] != nil ? 2.5 : 1.5)' fill='\(color)'><title>\(escape(tip))</title></circle>"
        }
        let seconds = Int(span / 1e9)
        for s in 0...max(seconds, 0) {
            let tx = x(t0 + Int64(s) * 1_000_000_000)
            svg += "<text x='\(f(tx))' y='\(Int(height - 5))' text-anchor='middle' fill='#666'>\(s)s</text>"
        }
        svg += "</svg>"

        var rows = ""
        for o in result.outcomes {
            let v = o.verdict == .valid ? "PASS" : (o.verdict == .invalid ? "FAIL" : "UNKNOWN")
            rows += "<tr class='\(v.lowercased())'><td>\(escape(o.spec.name))</td><td>\(o.spec.kind.rawValue)</td><td>\(escape(o.spec.from ?? "begin")) .. \(escape(o.spec.until ?? "end"))</td><td>\(v)</td><td>\(escape(o.error ?? o.report?[o.spec.kind]?.summary ?? ""))</td></tr>"
            if let a = o.report?[o.spec.kind]?.anomalies.first {
                rows += "<tr><td colspan='5'><pre>\(escape(a.message + "\n" + OperationTable.render(a.operations, roles: a.roles, indent: "  ")))</pre></td></tr>"
            }
        }
        let faultWindows = HTMLReportSections.faultWindows(history, end: tEnd).map { (startNs: $0.start, endNs: $0.end, label: $0.label) }
        let originSection = result.cacheAside.map { originLoadSection($0, faults: faultWindows) } ?? ""
        let verdict = result.verdict == .valid ? "PASS" : (result.verdict == .invalid ? "FAIL" : "UNKNOWN")
        return """
            <!doctype html><html><head><meta charset='utf-8'><title>\(escape(result.scenario)): \(verdict)</title>
            <style>body{font-family:sans-serif;margin:20px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
            tr.pass td:nth-child(4){color:#2a7}tr.fail td:nth-child(4){color:#c22;font-weight:bold}tr.unknown td:nth-child(4){color:#a70}pre{margin:0;font-size:11px}</style></head><body>
            <h1>\(escape(result.scenario)): \(verdict)</h1>
            <p>topology \(escape(topology.name)), seed \(result.seed), \(result.stats.ok) ok, \(result.stats.fail) fail, \(result.stats.info) info\(result.interrupted ? ", interrupted" : "")</p>
            <table><tr><th>check</th><th>kind</th><th>window</th><th>verdict</th><th>summary</th></tr>\(rows)</table>
            <h2>Operations</h2>
            <p>Per node, writes above and reads below, by invocation time; shaded: faults. Blue: write ok, green: read ok, orange: read stale under 100 ms, red: read stale 100 ms or more, grey: fail, purple: info (unknown).</p>
            \(svg)
            \(originSection)
            \(HTMLReportSections.render(result, history: history))
            </body></html>

            """
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
