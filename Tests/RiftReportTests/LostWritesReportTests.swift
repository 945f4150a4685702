import Foundation
import RiftChecker
import RiftHistory
import Testing

@testable import RiftReport

/// The lost-writes section, drawn from a synthetic `lost_writes` result as result.json holds it:
/// a row per set with its bar, counts and first lost elements; no section without the check.
@Suite struct LostWritesReportTests {
    static func result() -> CheckResult {
        func set(ok: Int64, lost: Int64, recovered: Int64, info: Int64, unexpected: Int64, firstLost: [Int64], missing: String? = nil) -> HistoryValue {
            var o: [String: HistoryValue] = [
                "ok_adds": .int(ok), "lost": .int(lost), "recovered": .int(recovered), "info_adds": .int(info),
                "unexpected": .int(unexpected), "first_lost": .list(firstLost.map { .int($0) }), "first_unexpected": .list([]),
            ]
            if let missing { o["missing"] = .string(missing) }
            return .object(o)
        }
        return CheckResult(
            kind: .lostWrites, verdict: .invalid,
            summary: "12 of 40 acknowledged adds lost (30.0%), 3 indeterminate adds recovered, 0 unexpected elements, 3 sets",
            details: [
                "lost": .int(12), "lost_fraction": .double(0.3), "ok_adds": .int(40), "recovered": .int(3), "unexpected": .int(0),
                "per_key": .object([
                    "s0": set(ok: 20, lost: 12, recovered: 1, info: 4, unexpected: 0, firstLost: Array(1...10)),
                    "s1": set(ok: 20, lost: 0, recovered: 2, info: 2, unexpected: 0, firstLost: []),
                    "s<2>": set(ok: 0, lost: 0, recovered: 0, info: 0, unexpected: 0, firstLost: [], missing: "no ok read of set s<2>"),
                ]),
            ])
    }

    static func render(_ checks: [CheckOutcome]) throws -> String {
        let history = try HTMLReportTests.small()
        let record = RunRecord(scenario: "sets", topology: "t", nodes: ["n1", "n2"], seed: 1, checks: checks)
        return HTMLReport.render(record, history: history, staleness: [])
    }

    @Test func drawsEachSetsAddsLostRecoveredAndUnexpected() throws {
        let outcome = CheckOutcome(spec: CheckSpec(name: "sets", check: LostWritesCheck()), report: CheckReport(checks: [Self.result()]))
        // Through result.json and back, as `rift report` reads it.
        let decoded = try JSONDecoder().decode(CheckOutcome.self, from: JSONEncoder().encode(outcome))
        let html = try Self.render([decoded])
        let table = try #require(html.components(separatedBy: "<table id='lost-writes'>").dropFirst().first?.components(separatedBy: "</table>").first)
        #expect(html.contains("<h2>Lost writes: sets</h2>") && html.contains("12 of 40 acknowledged adds lost (30.0%)"))
        let rows = table.components(separatedBy: "<tr>").dropFirst()
        #expect(rows.count == 4)  // the header and three sets, sorted
        let s0 = try #require(rows.first { $0.hasPrefix("<td>s0</td>") })
        #expect(s0.contains("<td class='bad'>12</td>") && s0.contains("<td>1 of 4</td>"))
        #expect(s0.contains("<title>8 kept</title>") && s0.contains("<title>12 lost</title>"))
        #expect(s0.contains("1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …"))
        // 12 lost of 20: 120 of the bar's 200 pixels.
        #expect(s0.contains("class='lost' x='80.0' y='1' width='120.0'"))
        let s1 = try #require(rows.first { $0.hasPrefix("<td>s1</td>") })
        #expect(!s1.contains("class='lost'") && s1.contains("<td>0</td>"))
        let s2 = try #require(rows.first { $0.hasPrefix("<td>s&lt;2&gt;</td>") })
        #expect(s2.contains("unknown: no ok read of set s&lt;2&gt;"))
    }

    @Test func noLostWritesCheckNoSection() throws {
        let outcome = CheckOutcome(spec: CheckSpec(check: StalenessCheck()), report: nil)
        #expect(!(try Self.render([outcome])).contains("lost-writes"))
    }
}
