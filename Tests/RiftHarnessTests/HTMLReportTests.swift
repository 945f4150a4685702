import RiftChecker
import RiftHistory
import Testing

@testable import RiftHarness

/// report.html from a small history: the fault window, the stale read in red, text escaped.
@Suite struct HTMLReportTests {
    @Test func drawsFaultsAndStaleReads() throws {
        let s: Int64 = 1_000_000_000
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
        let history = try HistoryReader.parse(lines.joined(separator: "\n")).paired()
        let topology = Topology(name: "t", nodes: [.init(name: "n1"), .init(name: "n2", replicaOf: "n1")])
        let spec = CheckSpec(name: "a <b>", kind: .staleness, maxStalenessNs: 1)
        let report = try Checker.check(history, try spec.options(scale: 1))
        let result = RunResult(scenario: "demo", seed: 1, directory: "/x", outcomes: [CheckOutcome(spec: spec, report: report)], stats: .init(), interrupted: false)
        let html = HTMLReport.render(result, history: history, topology: topology)
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
}
