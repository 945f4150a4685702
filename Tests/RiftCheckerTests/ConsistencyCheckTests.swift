import Foundation
import RiftCore
import RiftHistory
import Testing
@testable import RiftChecker

/// Nines of reads consistent within T: counts, nines, the bound's verdicts and the t-visibility
/// curve, against a direct count over the staleness definition (`StalenessTests.direct`).
@Suite struct ConsistencyCheckTests {
    /// Random histories as the staleness property test makes them, each read on one of two nodes.
    static func randomHistory(_ rng: inout SeededRandom) throws -> PairedHistory {
        try HistoryBuilder.randomIntegerHistory(&rng, maxOpsPerProcess: 10, nodes: true).paired()
    }

    static func run(_ h: PairedHistory, _ check: ConsistencyCheck) -> CheckResult? {
        check.run(CheckContext(h), window: .all)
    }

    @Test func agreesWithADirectCountOnRandomHistories() throws {
        var rng = SeededRandom(seed: 11, labels: "consistency")
        var inconsistentSeen = 0, casesWithReads = 0
        for caseIndex in 0..<200 {
            let h = try Self.randomHistory(&rng)
            let direct = StalenessTests.direct(h.operations)
            for within: Int64 in [0, 3, 10] {
                let result = Self.run(h, ConsistencyCheck(withinNs: within))
                if direct.isEmpty {
                    // No ok read: unknown (or skipped when the history has no integer view at all).
                    #expect(result == nil || result?.verdict == .unknown, "case \(caseIndex)")
                    continue
                }
                let r = try #require(result, "case \(caseIndex)")
                let consistent = direct.values.filter { $0.staleForNs <= within }.count
                #expect(r.details["reads"] == .int(Int64(direct.count)), "case \(caseIndex)")
                #expect(r.details["consistent"] == .int(Int64(consistent)), "case \(caseIndex) within \(within)")
                let fraction = Double(consistent) / Double(direct.count)
                #expect(r.details["fraction"] == .double(fraction))
                let nines = consistent == direct.count ? log10(Double(direct.count)) : -log10(1 - fraction)
                #expect(r.details["nines"] == .double(nines))
                #expect(r.anomalyCount == direct.count - consistent)
                // Per node, the same count over that node's reads.
                for node in ["n1", "n2"] {
                    let mine = direct.values.filter { h.operations[$0.operation].node == node }
                    let got = r.details["per_node"]?.objectValue?[node]?.objectValue
                    if mine.isEmpty { #expect(got == nil) } else {
                        #expect(got?["consistent"] == .int(Int64(mine.filter { $0.staleForNs <= within }.count)), "case \(caseIndex) \(node)")
                    }
                }
                // The curve: from 0 up, never falling, reaching 1, and through the bound's point.
                let curve = try #require(r.details["t_visibility"].flatMap { v -> [(Int64, Double)]? in
                    guard case .list(let points) = v else { return nil }
                    return points.compactMap { p in
                        guard let o = p.objectValue, let t = o["within_ns"]?.intValue, case .double(let f)? = o["fraction"] else { return nil }
                        return (t, f)
                    }
                })
                #expect(curve.first?.0 == 0 && curve.last?.1 == 1)
                #expect(zip(curve, curve.dropFirst()).allSatisfy { $0.0 < $1.0 && $0.1 <= $1.1 })
                #expect(curve.first { $0.0 == within }?.1 == fraction)
                if consistent < direct.count { inconsistentSeen += 1 }
                casesWithReads += 1
            }
        }
        // The generator makes both kinds of case.
        #expect(inconsistentSeen > 50 && casesWithReads - inconsistentSeen > 50)
    }

    @Test func ninesAndTheirCap() {
        #expect(ConsistencyMeasure.summary(reads: 0, consistent: 0) == nil)
        let three = try? #require(ConsistencyMeasure.summary(reads: 1000, consistent: 999))
        #expect(abs((three?.nines ?? 0) - 3) < 1e-9 && three?.capped == false)
        let all = ConsistencyMeasure.summary(reads: 100, consistent: 100)
        #expect(all?.fraction == 1 && all?.nines == 2 && all?.capped == true)
        #expect(ConsistencyMeasure.summary(reads: 4, consistent: 0)?.nines == 0)
    }

    /// A read 40 ns stale among 9 fresh ones: 1 nine within 10 ns; all 10 within 40 ns.
    @Test func theBoundDecidesPassFailOrUnknown() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, 10)
        b.op(0, "write", "k", .int(2), 20, 30)
        b.op(1, "read", "k", .null, 70, 75, output: .int(1), node: "n2")
        for i in 0..<9 { b.op(2, "read", "k", .null, 80 + Int64(i) * 10, 85 + Int64(i) * 10, output: .int(2), node: "n1") }
        let h = try b.paired()
        let measured = try #require(Self.run(h, ConsistencyCheck(withinNs: 10)))
        #expect(measured.verdict == .valid)
        #expect(measured.summary == "9 of 10 reads consistent within 10ns: 1.00 nines")
        #expect(measured.anomalies.first?.message.contains("stale for 40ns > 10ns") == true)
        #expect(Self.run(h, ConsistencyCheck(withinNs: 10, minNines: 1))?.verdict == .valid)
        let short = try #require(Self.run(h, ConsistencyCheck(withinNs: 10, minNines: 2)))
        #expect(short.verdict == .invalid && short.summary.hasSuffix("< 2.0"))
        // Every read within 40 ns: 10 reads show at most 1 nine.
        #expect(Self.run(h, ConsistencyCheck(withinNs: 40, minNines: 1))?.verdict == .valid)
        let tooFew = try #require(Self.run(h, ConsistencyCheck(withinNs: 40, minNines: 2)))
        #expect(tooFew.verdict == .unknown && tooFew.summary.hasSuffix("10 reads cannot show 2.0 nines"))
    }

    @Test func withinIsRequired() {
        #expect(throws: CheckSettingsError(field: "within", message: "required: the window T a read may lag by (e.g. 100ms)")) {
            try ConsistencyCheck().validate()
        }
        #expect(throws: CheckSettingsError.self) { try ConsistencyCheck.fromJSON(["min_nines": .double(2)]) }
        let back = try? ConsistencyCheck.fromJSON(["within_ns": .int(5), "min_nines": .int(3)])
        #expect(back?.withinNs == 5 && back?.minNines == 3)
    }
}
