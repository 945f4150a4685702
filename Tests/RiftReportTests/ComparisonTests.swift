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
        #expect(!rows[0].contains("NINES BY REGION"), "no regions, no region columns")
    }

    /// With client regions: each region's nines over its own reads (within the window), the
    /// run's longest divergence, their medians over runs, and two more columns.
    @Test func regionsGetTheirOwnNinesAndTheDivergence() throws {
        // us reads 1 and then 2, both fresh; eu reads 1 three times, the last two after 2 was
        // written (stale by more than the window), so the regions differ from us's second read.
        func op(_ p: Int, _ f: String, _ v: String, _ t0: Int, _ t1: Int) -> String {
            #"{"type":"invoke","process":\#(p),"f":"\#(f)","key":"k","value":\#(f == "read" ? "null" : v),"time":\#(t0)}"# + "\n"
                + #"{"type":"ok","process":\#(p),"f":"\#(f)","key":"k","value":\#(v),"time":\#(t1)}"# + "\n"
        }
        let text = op(0, "write", "1", 0, 10) + op(0, "read", "1", 20, 30) + op(1, "read", "1", 20, 30) + op(0, "write", "2", 40, 50)
            + op(0, "read", "2", 60, 70) + op(1, "read", "1", 100, 110) + op(1, "read", "1", 120, 130)
        var history = try HistoryReader.parse(text).paired()
        history.metadata[PairedHistory.clientRegionsKey] = .object(["us": .list([.int(0)]), "eu": .list([.int(1)])])
        var record = Self.record(lost: nil)
        record.divergence = Divergence.measure(history)
        let m = Comparison.Metrics.measure(record, history: history, withinNs: 20)
        // us: 2 of 2 reads consistent (capped at log10(2)); eu: 1 of 3.
        #expect(m.regionNines["us"] == log10(2) && abs((m.regionNines["eu"] ?? 0) + log10(2.0 / 3)) < 1e-12, "\(m.regionNines)")
        #expect(m.maxDivergenceNs == 60, "from us's read of 2 (70) to the last completion (130)")
        var other = m
        other.regionNines = ["us": 4, "eu": 0.5]
        other.maxDivergenceNs = 100
        let median = Comparison.Metrics.median([m, other, other])
        #expect(median.regionNines == ["us": 4, "eu": 0.5] && median.maxDivergenceNs == 100)
        let comparison = Comparison(scenario: "s", withinNs: 20, variants: [
            .init(settings: [("a", "1")], runs: [.init(seed: 1, directory: "d", verdict: .valid, checks: [], metrics: m)]),
        ])
        let rows = comparison.rows()
        #expect(Array(rows[0].suffix(2)) == ["MAX DIVERGENCE", "NINES BY REGION"])
        #expect(rows[1].suffix(2) == ["60ns", "eu 0.18, us 0.30"], "\(rows[1])")
        #expect(comparison.json().contains(#""consistency_nines_by_region":{"#) && comparison.json().contains(#""max_divergence_ns":60"#))
    }
}
