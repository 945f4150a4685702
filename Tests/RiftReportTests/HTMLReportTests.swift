import Foundation
import RiftChecker
import RiftHistory
import Testing

@testable import RiftReport

/// report.html from synthetic histories and check results (no fleet): the fault window, the
/// stale read in red, text escaped, the verdict as the checks say, and large histories in bins.
@Suite struct HTMLReportTests {
    static let s: Int64 = 1_000_000_000

    static func small() throws -> PairedHistory {
        let s = Self.s
        let lines = [
            #"{"type":"invoke","process":0,"f":"write","key":"r0","value":1,"time":\#(0),"node":"n1"}"#,
            #"{"type":"ok","process":0,"f":"write","key":"r0","value":1,"time":\#(s / 10),"node":"n1"}"#,
            #"{"type":"info","process":"nemesis","f":"start","value":{"directive":"partition <n1>"},"time":\#(s)}"#,
            #"{"type":"invoke","process":0,"f":"write","key":"r0","value":2,"time":\#(s + 1)}"#,
            #"{"type":"ok","process":0,"f":"write","key":"r0","value":2,"time":\#(s + 2),"node":"n1"}"#,
            #"{"type":"invoke","process":1,"f":"read","key":"r0","value":null,"time":\#(2 * s),"node":"n2"}"#,
            #"{"type":"ok","process":1,"f":"read","key":"r0","value":1,"time":\#(2 * s + 5),"node":"n2"}"#,
            #"{"type":"info","process":"nemesis","f":"stop","value":{"directive":"heal"},"time":\#(3 * s)}"#,
        ]
        return try HistoryReader.parse(lines.joined(separator: "\n")).paired()
    }

    func render(_ history: PairedHistory, _ specs: [CheckSpec], series: CheckSeries = CheckSeries()) -> (String, RunRecord) {
        let context = CheckContext(history, series: series)
        let record = RunRecord(scenario: "demo", topology: "t", nodes: ["n1", "n2"], seed: 1, checks: Checker.run(specs, context))
        return (HTMLReport.render(record, history: history, staleness: context.readStaleness), record)
    }

    @Test func drawsFaultsAndStaleReads() throws {
        let history = try Self.small()
        let (html, _) = render(history, [CheckSpec(name: "a <b>", check: StalenessCheck(maxStalenessNs: 1))])
        #expect(html.contains("<h1>demo: FAIL</h1>"))
        #expect(html.contains("a &lt;b&gt;"))
        #expect(html.contains("partition &lt;n1&gt;"))
        // The read on n2 a second after a newer write completed: stale, in red.
        #expect(html.contains("fill='#d62728'"))
        // In the per-node timeline (the first chart): three operations, one fault window.
        let nodeChart = html.components(separatedBy: "</svg>")[0]
        #expect(nodeChart.components(separatedBy: "<circle").count - 1 == 3)
        #expect(nodeChart.components(separatedBy: "<rect").count - 1 == 1)
    }

    /// The page's verdict is the record's: a passing check reads PASS, and a record with no
    /// check at all reads UNKNOWN (nothing checked is never a pass).
    @Test func verdictIsTheChecks() throws {
        let history = try Self.small()
        #expect(render(history, [CheckSpec(check: StalenessCheck(maxStalenessNs: 10 * Self.s))]).0.contains("<h1>demo: PASS</h1>"))
        let (empty, record) = render(history, [])
        #expect(record.verdict == .unknown)
        #expect(empty.contains("<h1>demo: UNKNOWN</h1>") && empty.contains("no check ran"))
    }

    /// A consistency check's t-visibility curve: drawn from its result, the check's T dashed.
    /// The stale read (1 s behind) is inconsistent within 100 ms and consistent within 1 s.
    @Test func consistencyDrawsItsTVisibilityCurve() throws {
        let history = try Self.small()
        let (html, record) = render(history, [CheckSpec(name: "nines", check: ConsistencyCheck(withinNs: 100_000_000))])
        #expect(record.checks.first?.result?.summary == "0 of 1 reads consistent within 100ms: 0.00 nines")
        let chart = try #require(html.components(separatedBy: "<svg id='t-visibility'").dropFirst().first?.components(separatedBy: "</svg>").first)
        #expect(chart.contains("stroke-dasharray"))
        #expect(chart.contains("<title>within 100ms: 0.0</title>"))
        #expect(chart.contains("<title>within 1s: 1.0</title>"))
        // No consistency check, no curve.
        #expect(!render(history, [CheckSpec(check: StalenessCheck())]).0.contains("t-visibility"))
    }

    /// The origin gauge is an extra series: drawn with its cap, and judged by origin_load.
    @Test func originSeriesIsDrawnWithItsCap() throws {
        let history = try Self.small()
        let samples = (0..<50).map { OriginLoadChecker.Sample(timeNs: Int64($0) * Self.s / 10, inFlight: $0, peak: $0 * 3) }
        let context = CheckContext(history, series: CheckSeries(originInFlight: samples))
        let cache = CacheAsideRecord(stats: .init(), samples: samples, droppedSamples: 0, peakInFlight: 147, cap: 100, serviceTimeNs: Self.s)
        let record = RunRecord(scenario: "storm", topology: "t", seed: 1, cacheAside: cache,
                               checks: Checker.run([CheckSpec(check: OriginLoadCheck(maxInFlight: 100))], context))
        let html = HTMLReport.render(record, history: history, staleness: context.readStaleness)
        #expect(html.contains("<h1>storm: FAIL</h1>") && html.contains("peaked at 147 &gt; 100"))
        #expect(html.contains("Cache-aside: origin load") && html.contains("<polyline") && html.contains("cap 100"))
    }

    /// A history far past `maxMarks`: the charts are bins (at most a rectangle per pixel column
    /// and lane), the anomalies' operations are still drawn one by one, and the page stays small.
    @Test func largeHistoriesAreDrawnInBins() throws {
        let history = Self.generated(operations: 200_000, processes: 16, staleEvery: 1_000)
        let specs = [CheckSpec(check: StalenessCheck(maxStalenessNs: 50_000_000)), CheckSpec(check: MonotonicReadsCheck())]
        let (html, record) = render(history, specs)
        #expect(record.checks[0].verdict == .invalid)
        #expect(html.utf8.count < 2_000_000, "report.html is \(html.utf8.count) bytes")
        let nodeChart = html.components(separatedBy: "</svg>")[0]
        // Only the listed anomalies' operations are circles; the rest are bins.
        let circles = nodeChart.components(separatedBy: "<circle").count - 1
        #expect(circles > 0 && circles <= 2 * Page.maxListed, "\(circles) circles")
        #expect(nodeChart.components(separatedBy: "<rect").count - 1 < 2 * 3 * 1000 + 10)
        #expect(html.contains("class='anomalous'") && html.contains("id='anomaly-1'"))
        #expect(html.contains("drawn in bins"))
    }

    /// A register history: `processes` processes over three nodes, one write in three, and every
    /// `staleEvery`-th read on n3 returns an old value (stale for about a second).
    static func generated(operations: Int, processes: Int, staleEvery: Int) -> PairedHistory {
        var ops: [HistoryOperation] = []
        ops.reserveCapacity(operations)
        var value: Int64 = 0
        let step: Int64 = 50_000  // 20,000 operations a second
        for i in 0..<operations {
            let t = Int64(i) * step
            let isWrite = i % 3 == 0
            let node = isWrite ? "n1" : ["n2", "n3"][i % 2]
            if isWrite { value += 1 }
            let stale = !isWrite && node == "n3" && (i / 2) % staleEvery == 0 && value > 30_000
            let read = stale ? value - 20_000 : value
            ops.append(HistoryOperation(id: i, process: .client(Int64(i % processes)), f: isWrite ? .write : .read, key: "r0",
                                        input: isWrite ? .int(value) : .null, output: .int(isWrite ? value : read), status: .ok,
                                        invokeTime: t, completeTime: t + step / 2, node: node))
        }
        return PairedHistory(operations: ops)
    }
}
