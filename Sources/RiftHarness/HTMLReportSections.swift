import RiftChecker
import RiftCore
import RiftHistory

/// The report's sections beyond the verdict table and the per-node timeline: operations per
/// process over the fault timeline with anomalies marked, staleness over time, latency
/// percentiles per node, and every anomaly with its operations. Inline SVG and HTML only.
enum HTMLReportSections {
    /// Most process lanes drawn; the rest are counted.
    static let maxLanes = 64
    /// Most anomalies listed per check.
    static let maxListed = 20

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

        /// Second marks along the bottom of a chart `height` high.
        func ticks(height: Double) -> String {
            var svg = ""
            let step = max(1, Int(span / 1e9) / 20)
            for s in stride(from: 0, through: max(Int(span / 1e9), 0), by: step) {
                svg += "<text x='\(HTMLReport.f(x(t0 + Int64(s) * 1_000_000_000)))' y='\(Int(height - 5))' text-anchor='middle' fill='#666'>\(s)s</text>"
            }
            return svg
        }
    }

    /// Fault windows: each nemesis `start` until the next `stop` (or the end), with its label.
    static func faultWindows(_ history: PairedHistory, end: Int64) -> [(start: Int64, end: Int64, label: String)] {
        var openAt: Int64?, label = "", windows: [(Int64, Int64, String)] = []
        for e in history.nemesis {
            if e.f == "start", openAt == nil {
                openAt = e.time
                if case .object(let o) = e.value, let d = o["directive"]?.stringValue { label = d } else { label = "fault" }
            } else if e.f == "stop", let s = openAt {
                windows.append((s, e.time, label))
                openAt = nil
            }
        }
        if let s = openAt { windows.append((s, end, label)) }
        return windows
    }

    static func shading(_ history: PairedHistory, _ axis: Axis, height: Double) -> String {
        faultWindows(history, end: axis.tEnd).map { w in
            "<rect class='fault' x='\(HTMLReport.f(axis.x(w.start)))' y='0' width='\(HTMLReport.f(max(axis.x(w.end) - axis.x(w.start), 1)))' height='\(Int(height - 20))' fill='#f6d7d7'><title>\(HTMLReport.escape(w.label))</title></rect>"
        }.joined()
    }

    static func render(_ result: RunResult, history: PairedHistory) -> String {
        let axis = Axis(history)
        // Operation id -> the number of its first anomaly, counted as `anomalyList` counts.
        var marked: [Int: Int] = [:], n = 0
        for o in result.outcomes {
            for a in (o.report?[o.spec.kind]?.anomalies ?? []).prefix(maxListed) {
                n += 1
                for op in a.operations where marked[op.id] == nil { marked[op.id] = n }
            }
        }
        return processTimeline(history, axis, marked: marked)
            + staleness(history, axis)
            + latency(history)
            + anomalyList(result)
    }

    /// One lane per process: each operation a bar from invocation to completion (info: to the
    /// end of the run, its effect may land any time), faults shaded, anomalous operations
    /// outlined in black and numbered as in the anomaly list.
    static func processTimeline(_ history: PairedHistory, _ axis: Axis, marked: [Int: Int]) -> String {
        let processes = Array(Set(history.operations.map(\.process))).sorted()
        let shown = Array(processes.prefix(maxLanes))
        let lane = 14.0
        let height = Double(shown.count) * lane + 40
        var svg = "<svg id='process-timeline' class='timeline' xmlns='http://www.w3.org/2000/svg' width='\(Int(axis.width))' height='\(Int(height))' font-family='sans-serif' font-size='10'>"
        svg += shading(history, axis, height: height)
        let laneOf = Dictionary(uniqueKeysWithValues: shown.enumerated().map { ($1, $0) })
        for (i, p) in shown.enumerated() { svg += "<text x='4' y='\(HTMLReport.f(20 + Double(i) * lane + 10))'>p\(HTMLReport.escape(p.description))</text>" }
        let stride = max(1, history.operations.count / HTMLReport.maxDrawn)
        for (i, op) in history.operations.enumerated() where i % stride == 0 || marked[op.id] != nil {
            guard let l = laneOf[op.process] else { continue }
            let y = 20 + Double(l) * lane + 3
            let x0 = axis.x(op.invokeTime), x1 = axis.x(op.completeTime ?? axis.tEnd)
            let isWrite = op.f != .read && op.f != .get
            let color = op.status == .ok ? (isWrite ? "#1f77b4" : "#2ca02c") : (op.status == .fail ? "#bbbbbb" : "#9467bd")
            let tip = "p\(op.process) \(op.f) \(op.key) \(op.input) -> \(op.output) \(op.status)" + (op.node.map { " on \($0)" } ?? "")
            let stroke = marked[op.id] != nil ? " stroke='#000' stroke-width='1.5' class='anomalous'" : ""
            svg += "<rect x='\(HTMLReport.f(x0))' y='\(HTMLReport.f(y))' width='\(HTMLReport.f(max(x1 - x0, 1.5)))' height='8' fill='\(color)'\(stroke)><title>\(HTMLReport.escape(tip))</title></rect>"
            if let n = marked[op.id] { svg += "<text x='\(HTMLReport.f(x0))' y='\(HTMLReport.f(y - 1))' font-size='9' fill='#000'>#\(n)</text>" }
        }
        svg += axis.ticks(height: height) + "</svg>"
        let hidden = processes.count - shown.count
        return """
            <h2>Operations per process</h2>
            <p>Each operation from invocation to completion; shaded: faults. Blue: write ok, green: read ok, grey: fail, purple: info (unknown, drawn to the end). Outlined and numbered: operations of the anomalies listed below.\(hidden > 0 ? " \(hidden) more processes not drawn." : "")</p>
            \(svg)

            """
    }

    /// Each ok read's staleness (time since the first newer write completed) at its invocation.
    static func staleness(_ history: PairedHistory, _ axis: Axis) -> String {
        let measured = StalenessChecker.measure(history)
        guard !measured.isEmpty else {
            return "<h2>Staleness over time</h2><p>No reads to measure (staleness needs integer values that grow per key).</p>\n"
        }
        let height = 180.0, top = 15.0, bottom = height - 25
        let maxNs = max(measured.map(\.staleForNs).max() ?? 0, 1_000_000)
        func y(_ ns: Int64) -> Double { bottom - Double(ns) / Double(maxNs) * (bottom - top) }
        var svg = "<svg id='staleness' class='staleness' xmlns='http://www.w3.org/2000/svg' width='\(Int(axis.width))' height='\(Int(height))' font-family='sans-serif' font-size='10'>"
        svg += shading(history, axis, height: height)
        svg += "<line x1='\(Int(axis.left))' x2='\(Int(axis.width))' y1='\(HTMLReport.f(bottom))' y2='\(HTMLReport.f(bottom))' stroke='#999'/>"
        svg += "<text x='4' y='\(HTMLReport.f(top + 4))'>\(HTMLReport.escape(DurationParser.readable(nanoseconds: maxNs)))</text><text x='4' y='\(HTMLReport.f(bottom))'>0</text>"
        let stride = max(1, measured.count / HTMLReport.maxDrawn)
        for (i, r) in measured.enumerated() where i % stride == 0 || r.staleForNs > 0 {
            let op = history.operations[r.operation]
            let color = r.staleForNs == 0 ? "#2ca02c" : (r.staleForNs >= 100_000_000 ? "#d62728" : "#ff9f1c")
            svg += "<circle cx='\(HTMLReport.f(axis.x(op.invokeTime)))' cy='\(HTMLReport.f(y(r.staleForNs)))' r='1.8' fill='\(color)'><title>read \(HTMLReport.escape(op.key)) on \(HTMLReport.escape(op.node ?? "?")): stale \(HTMLReport.escape(DurationParser.readable(nanoseconds: r.staleForNs))), \(r.versionsBehind) versions behind</title></circle>"
        }
        svg += axis.ticks(height: height) + "</svg>"
        let stale = measured.filter { $0.staleForNs > 0 }.count
        return """
            <h2>Staleness over time</h2>
            <p>\(measured.count) ok reads, \(stale) stale; worst \(HTMLReport.escape(DurationParser.readable(nanoseconds: measured.map(\.staleForNs).max() ?? 0))). Each read at its invocation, by how long a newer value had been acknowledged.</p>
            \(svg)

            """
    }

    /// p50/p99/max of ok operations per node, over the whole history and during faults.
    static func latency(_ history: PairedHistory) -> String {
        let all = LatencyChecker.perNode(history.operations)
        guard !all.isEmpty else { return "<h2>Latency per node</h2><p>No ok operations with a node recorded.</p>\n" }
        let windows = faultWindows(history, end: .max)
        let during = LatencyChecker.perNode(history.operations.filter { op in windows.contains { op.invokeTime >= $0.start && op.invokeTime <= $0.end } })
        let maxP99 = max(all.values.map(\.p99Ns).max() ?? 1, during.values.map(\.p99Ns).max() ?? 1, 1)
        func ms(_ ns: Int64) -> String { HTMLReport.escape(DurationParser.readable(nanoseconds: ns)) }
        func bar(_ ns: Int64, _ color: String) -> String {
            "<svg width='200' height='10'><rect width='\(HTMLReport.f(max(200 * Double(ns) / Double(maxP99), 1)))' height='10' fill='\(color)'/></svg>"
        }
        var rows = ""
        for node in all.keys.sorted() {
            let s = all[node]!
            let d = during[node]
            rows += "<tr><td>\(HTMLReport.escape(node))</td><td>\(s.operations)</td><td>\(ms(s.p50Ns))</td><td>\(ms(s.p99Ns)) \(bar(s.p99Ns, "#1f77b4"))</td><td>\(ms(s.maxNs))</td>"
            rows += "<td>\(d.map { "\(ms($0.p99Ns)) \(bar($0.p99Ns, "#d62728"))" } ?? "-")</td></tr>"
        }
        return """
            <h2>Latency per node</h2>
            <table id='latency'><tr><th>node</th><th>ok ops</th><th>p50</th><th>p99</th><th>max</th><th>p99 during faults</th></tr>\(rows)</table>

            """
    }

    /// Every check's anomalies (up to `maxListed` each), numbered as in the process timeline.
    static func anomalyList(_ result: RunResult) -> String {
        var out = "<h2>Anomalies</h2>\n"
        var n = 0, any = false
        for o in result.outcomes {
            guard let c = o.report?[o.spec.kind], !c.anomalies.isEmpty else { continue }
            any = true
            out += "<h3>\(HTMLReport.escape(o.spec.name)): \(c.anomalyCount) anomal\(c.anomalyCount == 1 ? "y" : "ies")</h3><ol class='anomalies' start='\(n + 1)'>"
            for a in c.anomalies.prefix(maxListed) {
                n += 1
                out += "<li id='anomaly-\(n)'>\(HTMLReport.escape(a.message))<pre>\(HTMLReport.escape(OperationTable.render(a.operations, roles: a.roles, indent: "")))</pre></li>"
            }
            out += "</ol>"
            if c.anomalies.count > maxListed || c.anomalyCount > c.anomalies.count {
                out += "<p>\(c.anomalyCount - min(c.anomalies.count, maxListed)) more not listed.</p>"
            }
            out += "\n"
        }
        return any ? out : out + "<p>None found.</p>\n"
    }
}
