import Foundation
import RiftChecker
import RiftHistory
import Testing

@testable import RiftReport

/// rift compare's figures without a fleet: lost writes come from the run's lost_writes check,
/// medians skip runs that did not measure a figure, and the table shows "-" for them.
@Suite struct ComparisonTests {
    static func record(lost: Int64?) -> RunRecord {
        let outcomes = lost.map { n in
            [CheckOutcome(spec: CheckSpec(name: "acks kept", check: LostWritesCheck()),
                          report: CheckReport(checks: [CheckResult(kind: .lostWrites, verdict: .invalid, summary: "s", details: ["lost": .int(n)])]))]
        } ?? []
        return RunRecord(scenario: "s", topology: "t", seed: 1, checks: outcomes)
    }

    @Test func lostWritesComeFromTheRunsCheck() throws {
        let history = try HistoryReader.parse(#"{"type":"invoke","process":0,"f":"write","key":"k","value":1,"time":0}"# + "\n"
            + #"{"type":"ok","process":0,"f":"write","key":"k","value":1,"time":10}"#).paired()
        let with = Comparison.Metrics.measure(Self.record(lost: 5), history: history, withinNs: 0)
        let without = Comparison.Metrics.measure(Self.record(lost: nil), history: history, withinNs: 0)
        #expect(with.lostWrites == 5 && without.lostWrites == nil)
        #expect(with.p99Ns == 10 && with.errors == 0)
        #expect(Comparison.Metrics.median([with, without, with]).lostWrites == 5)
        let comparison = Comparison(scenario: "s", withinNs: 0, variants: [
            .init(settings: [("a", "1")], runs: [.init(seed: 1, directory: "d", verdict: .invalid, checks: [], metrics: with)]),
            .init(settings: [("a", "2")], runs: [.init(seed: 1, directory: "d", verdict: .valid, checks: [], metrics: without)]),
        ])
        let rows = comparison.rows()
        #expect(rows[0].last == "LOST WRITES" && rows[1].last == "5" && rows[2].last == "-")
        #expect(comparison.json().contains(#""lost_writes":5"#) && comparison.json().contains(#""lost_writes":null"#))
    }
}
