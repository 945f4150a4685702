import RiftChecker
import RiftCore
import RiftHistory

/// The report's sections beyond the verdict table and the per-node timeline: operations per
/// process over the fault timeline with anomalies marked, staleness over time, latency
/// percentiles per node, and every anomaly with its operations. Inline SVG and HTML only.
enum HTMLReportSections {
    /// Most process lanes drawn; the rest are counted.
    static let maxLanes = 64

    /// A duration as the page writes it (`1.5s`, `350.2ms`), escaped.
    static func ms(_ ns: Int64) -> String { HTMLReport.escape(DurationParser.readable(nanoseconds: ns)) }

    static func shading(_ page: Page, height: Double) -> String {
        page.faults.map { w in
            "<rect class='fault' x='\(HTMLReport.f(page.axis.x(w.start)))' y='0' width='\(HTMLReport.f(max(page.axis.x(w.end) - page.axis.x(w.start), 1)))' height='\(Int(height - 20))' fill='#f6d7d7'><title>\(HTMLReport.escape(w.label))</title></rect>"
        }.joined()
    }

    static func render(_ page: Page) -> String {
        processTimeline(page) + staleness(page) + consistency(page) + lostWrites(page) + latency(page) + keyDistribution(page) + divergence(page) + anomalyList(page)
    }

    /// One lane per process: each operation a bar from invocation to completion (info: to the
    /// end of the run, its effect may land any time), faults shaded, anomalous operations
    /// outlined in black and numbered as in the anomaly list. Large histories: bins per column.
    static func processTimeline(_ page: Page) -> String {
        let ops = page.history.operations, axis = page.axis
        let processes = Array(Set(ops.map(\.process))).sorted()
        let shown = Array(processes.prefix(maxLanes))
        let lane = 14.0
        let height = Double(shown.count) * lane + 40
        var svg = "<svg id='process-timeline' class='timeline' xmlns='http://www.w3.org/2000/svg' width='\(Int(axis.width))' height='\(Int(height))' font-family='sans-serif' font-size='10'>"
        svg += shading(page, height: height)
        let laneOf = Dictionary(uniqueKeysWithValues: shown.enumerated().map { ($1, $0) })
        for (i, p) in shown.enumerated() { svg += "<text x='4' y='\(HTMLReport.f(20 + Double(i) * lane + 10))'>p\(HTMLReport.escape(p.description))</text>" }
        func bar(_ op: HistoryOperation) -> String {
            guard let l = laneOf[op.process] else { return "" }
            let y = 20 + Double(l) * lane + 3
            let x0 = axis.x(op.invokeTime), x1 = axis.x(op.completeTime ?? axis.tEnd)
            let tip = "p\(op.process) \(op.f) \(op.key) \(op.input) -> \(op.output) \(op.status)" + (op.node.map { " on \($0)" } ?? "")
            let stroke = page.marked[op.id] != nil ? " stroke='#000' stroke-width='1.5' class='anomalous'" : ""
            var s = "<rect x='\(HTMLReport.f(x0))' y='\(HTMLReport.f(y))' width='\(HTMLReport.f(max(x1 - x0, 1.5)))' height='8' fill='\(Mark.of(op, stale: nil).color)'\(stroke)><title>\(HTMLReport.escape(tip))</title></rect>"
            if let n = page.marked[op.id] { s += "<text x='\(HTMLReport.f(x0))' y='\(HTMLReport.f(y - 1))' font-size='9' fill='#000'>#\(n)</text>" }
            return s
        }
        if !page.aggregated {
            for op in ops { svg += bar(op) }
        } else {
            var bins = Bins(columns: Int(axis.width), rows: shown.count)
            for op in ops {
                guard let l = laneOf[op.process] else { continue }
                bins.add(row: l, column: Int(axis.x(op.invokeTime)), Mark.of(op, stale: nil))
            }
            svg += bins.svg { row in (20 + Double(row) * lane + 3, 8) }
            for op in ops where page.marked[op.id] != nil { svg += bar(op) }
        }
        svg += axis.ticks(height: height) + "</svg>"
        let hidden = processes.count - shown.count
        return """
            <h2>Operations per process</h2>
            <p>Each operation from invocation to completion; shaded: faults. Blue: write ok, green: read ok, grey: fail, purple: info (unknown, drawn to the end). Outlined and numbered: operations of the anomalies listed below.\(page.aggregated ? " Drawn in bins of one pixel column at invocation (the worst colour of the bin wins; hover for counts)." : "")\(hidden > 0 ? " \(hidden) more processes not drawn." : "")</p>
            \(svg)

            """
    }

    /// Each ok read's staleness (time since the first newer write completed) at its invocation,
    /// as the checker measured it; large histories: the worst read per pixel column.
    static func staleness(_ page: Page) -> String {
        let measured = page.staleness, axis = page.axis, ops = page.history.operations
        guard !measured.isEmpty else {
            return "<h2>Staleness over time</h2><p>No reads measured (staleness needs integer values that grow per key).</p>\n"
        }
        let height = 180.0, top = 15.0, bottom = height - 25
        let worst = measured.map(\.staleForNs).max() ?? 0
        let maxNs = max(worst, 1_000_000)
        func y(_ ns: Int64) -> Double { bottom - Double(ns) / Double(maxNs) * (bottom - top) }
        var svg = "<svg id='staleness' class='staleness' xmlns='http://www.w3.org/2000/svg' width='\(Int(axis.width))' height='\(Int(height))' font-family='sans-serif' font-size='10'>"
        svg += shading(page, height: height)
        svg += "<line x1='\(Int(axis.left))' x2='\(Int(axis.width))' y1='\(HTMLReport.f(bottom))' y2='\(HTMLReport.f(bottom))' stroke='#999'/>"
        svg += "<text x='4' y='\(HTMLReport.f(top + 4))'>\(HTMLReport.escape(DurationParser.readable(nanoseconds: maxNs)))</text><text x='4' y='\(HTMLReport.f(bottom))'>0</text>"
        func dot(_ r: ReadStaleness) -> String {
            let op = ops[r.operation]
            let color = r.staleForNs == 0 ? Mark.readOK.color : Mark.of(op, stale: r.staleForNs).color
            return "<circle cx='\(HTMLReport.f(axis.x(op.invokeTime)))' cy='\(HTMLReport.f(y(r.staleForNs)))' r='1.8' fill='\(color)'><title>read \(HTMLReport.escape(op.key)) on \(HTMLReport.escape(op.node ?? "?")): stale \(HTMLReport.escape(DurationParser.readable(nanoseconds: r.staleForNs))), \(r.versionsBehind) versions behind</title></circle>"
        }
        if measured.count <= HTMLReport.maxMarks {
            for r in measured { svg += dot(r) }
        } else {
            // Per pixel column: the worst read, and how many reads and stale reads it stands for.
            var worstIn = [Int64](repeating: -1, count: Int(axis.width) + 1), reads = [Int](repeating: 0, count: Int(axis.width) + 1)
            var staleIn = [Int](repeating: 0, count: Int(axis.width) + 1)
            for r in measured {
                let c = min(max(Int(axis.x(ops[r.operation].invokeTime)), 0), Int(axis.width))
                worstIn[c] = max(worstIn[c], r.staleForNs)
                reads[c] += 1
                if r.staleForNs > 0 { staleIn[c] += 1 }
            }
            for c in worstIn.indices where worstIn[c] >= 0 {
                let color = worstIn[c] == 0 ? Mark.readOK.color : (worstIn[c] >= 100_000_000 ? Mark.staleLong.color : Mark.staleShort.color)
                let y0 = y(worstIn[c])
                svg += "<rect x='\(c)' y='\(HTMLReport.f(y0 - 1))' width='1' height='\(HTMLReport.f(max(bottom - y0, 0) + 1))' fill='\(color)'><title>\(reads[c]) reads, \(staleIn[c]) stale, worst \(HTMLReport.escape(DurationParser.readable(nanoseconds: worstIn[c])))</title></rect>"
            }
            for r in measured where page.marked[r.operation] != nil { svg += dot(r) }
        }
        svg += axis.ticks(height: height) + "</svg>"
        let stale = measured.filter { $0.staleForNs > 0 }.count
        return """
            <h2>Staleness over time</h2>
            <p>\(measured.count) ok reads, \(stale) stale; worst \(HTMLReport.escape(DurationParser.readable(nanoseconds: worst))). Each read at its invocation, by how long a newer value had been acknowledged\(measured.count > HTMLReport.maxMarks ? " (per pixel column: a bar up to the worst read)" : "").</p>
            \(svg)

            """
    }

    /// p50/p99/max of ok operations per node, over the whole run and during faults.
    static func latency(_ page: Page) -> String {
        let all = page.record.latencyPerNode
        guard !all.isEmpty else { return "<h2>Latency per node</h2><p>No ok operations with a node recorded.</p>\n" }
        let windows = page.faults
        let during = LatencyChecker.perNode(page.history.operations.filter { op in windows.contains { op.invokeTime >= $0.start && op.invokeTime <= $0.end } })
        let maxP99 = max(all.values.map(\.p99Ns).max() ?? 1, during.values.map(\.p99Ns).max() ?? 1, 1)
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

    /// Each node's share of the operations and the hottest keys with theirs, and the skew:
    /// where a hot partition is.
    static func keyDistribution(_ page: Page) -> String {
        guard let load = page.record.keyLoad, load.operations > 0 else { return "" }
        func pct(_ x: Double) -> String { HTMLReport.f(100 * x) + "%" }
        func bar(_ x: Double, _ color: String) -> String {
            "<svg width='200' height='10'><rect width='\(HTMLReport.f(max(200 * x, 1)))' height='10' fill='\(color)'/></svg>"
        }
        var nodes = ""
        for n in load.perNode.keys.sorted() {
            let s = load.perNode[n]!
            nodes += "<tr><td>\(HTMLReport.escape(n))</td><td>\(s.operations)</td><td>\(pct(s.share)) \(bar(s.share, "#1f77b4"))</td></tr>"
        }
        var keys = ""
        for k in load.topKeys {
            let served = k.nodes.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            keys += "<tr><td>\(HTMLReport.escape(k.key))</td><td>\(k.operations)</td><td>\(pct(k.share)) \(bar(k.share, "#ff7f0e"))</td><td>\(HTMLReport.escape(served))</td></tr>"
        }
        return """
            <h2>Key distribution</h2>
            <p>\(load.operations) operations; skew \(HTMLReport.f(load.skew)) (the busiest node's share over an even share: 1 is even).</p>
            <table id='key-nodes'><tr><th>node</th><th>operations</th><th>share</th></tr>\(nodes)</table>
            <table id='key-top'><tr><th>key</th><th>operations</th><th>share</th><th>served by</th></tr>\(keys)</table>

            """
    }

    /// How long the client regions disagreed per key: the most divergent keys' episodes on the
    /// run's time axis (faults shaded), and each key's episode count, longest, p99 and total.
    static func divergence(_ page: Page) -> String {
        guard let d = page.record.divergence else { return "" }
        let axis = page.axis, lane = 14.0
        let shown = Array(d.perKey.prefix(maxDivergenceLanes))
        let height = Double(shown.count) * lane + 40
        var svg = "<svg id='divergence-timeline' class='timeline' xmlns='http://www.w3.org/2000/svg' width='\(Int(axis.width))' height='\(Int(height))' font-family='sans-serif' font-size='10'>"
        svg += shading(page, height: height)
        for (i, k) in shown.enumerated() {
            let y = 20 + Double(i) * lane
            svg += "<text x='4' y='\(HTMLReport.f(y + 10))'>\(HTMLReport.escape(String(k.key.prefix(9))))</text>"
            for iv in k.intervals {
                let x0 = axis.x(iv[0]), x1 = axis.x(iv[1])
                svg += "<rect x='\(HTMLReport.f(x0))' y='\(HTMLReport.f(y + 3))' width='\(HTMLReport.f(max(x1 - x0, 1)))' height='8' fill='#d62728'><title>\(HTMLReport.escape(k.key)): \(ms(iv[1] - iv[0]))</title></rect>"
            }
        }
        svg += axis.ticks(height: height) + "</svg>"
        var rows = ""
        for k in d.perKey {
            rows += "<tr><td>\(HTMLReport.escape(k.key))</td><td>\(k.episodes)</td><td>\(ms(k.maxNs))</td><td>\(ms(k.p99Ns))</td><td>\(ms(k.totalNs))</td></tr>"
        }
        return """
            <h2>Divergence between regions</h2>
            <p>Regions \(HTMLReport.escape(d.regions.joined(separator: ", "))): while their clients' latest reads of a key returned different values. \(d.episodes) episodes over \(d.keys) keys read in more than one region; longest \(ms(d.maxNs)), p99 \(ms(d.p99Ns)), total \(ms(d.totalNs)). Red: a key diverging; shaded: faults.</p>
            \(shown.isEmpty ? "" : svg)
            <table id='divergence'><tr><th>key</th><th>episodes</th><th>longest</th><th>p99</th><th>total</th></tr>\(rows)</table>

            """
    }

    /// Keys drawn in the divergence chart.
    static let maxDivergenceLanes = 10

    /// Every check's anomalies (up to `Page.maxListed` each), numbered as in the process timeline.
    static func anomalyList(_ page: Page) -> String {
        var out = "<h2>Anomalies</h2>\n"
        var n = 0, any = false
        for o in page.record.checks {
            guard let c = o.result, !c.anomalies.isEmpty else { continue }
            any = true
            out += "<h3>\(HTMLReport.escape(o.spec.name)): \(c.anomalyCount) anomal\(c.anomalyCount == 1 ? "y" : "ies")</h3><ol class='anomalies' start='\(n + 1)'>"
            for a in c.anomalies.prefix(Page.maxListed) {
                n += 1
                out += "<li id='anomaly-\(n)'>\(HTMLReport.escape(a.message))<pre>\(HTMLReport.escape(OperationTable.render(a.operations, roles: a.roles, indent: "")))</pre></li>"
            }
            out += "</ol>"
            if c.anomalies.count > Page.maxListed || c.anomalyCount > c.anomalies.count {
                out += "<p>\(c.anomalyCount - min(c.anomalies.count, Page.maxListed)) more not listed.</p>"
            }
            out += "\n"
        }
        return any ? out : out + "<p>None found.</p>\n"
    }
}
