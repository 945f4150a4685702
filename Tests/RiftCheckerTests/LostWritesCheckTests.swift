import Foundation
import RiftCore
import RiftHistory
import Testing
@testable import RiftChecker

/// Jepsen's set workload checked against each set's final read: every category (lost,
/// recovered, unexpected, concurrent), the bounds' verdicts, unknown without a final read, and a
/// property test against counts the generator knows.
@Suite struct LostWritesCheckTests {
    static func run(_ h: PairedHistory, _ check: LostWritesCheck = LostWritesCheck(), named: Bool = true, maxAnomalies: Int = 10) -> CheckResult? {
        check.run(CheckContext(h, maxAnomalies: maxAnomalies, named: named), window: .all)
    }

    /// Four acknowledged adds to s0 (1...4), then a final read holding `read`.
    static func fourAdds(read: [Int64]) throws -> PairedHistory {
        var b = HistoryBuilder()
        for i in Int64(1)...4 { b.op(i % 2, "add", "s0", .int(i), i * 10, i * 10 + 5, node: "n1") }
        b.op(0, "read", "s0", .null, 100, 110, output: .list(read.map { .int($0) }))
        return try b.paired()
    }

    @Test func everyAcknowledgedAddKeptIsValid() throws {
        let r = try #require(Self.run(try Self.fourAdds(read: [1, 2, 3, 4])))
        #expect(r.verdict == .valid)
        #expect(r.details["lost"] == .int(0) && r.details["ok_adds"] == .int(4) && r.details["lost_fraction"] == .double(0))
        #expect(r.summary.hasPrefix("0 of 4 acknowledged adds lost (0.0%)"))
        #expect(r.anomalies.isEmpty)
    }

    @Test func anyLostAddIsInvalidWithoutBounds() throws {
        let h = try Self.fourAdds(read: [1, 2, 4])
        let r = try #require(Self.run(h))
        #expect(r.verdict == .invalid)
        #expect(r.details["lost"] == .int(1) && r.details["lost_fraction"] == .double(0.25))
        #expect(r.summary.contains("no bound set"))
        let s0 = try #require(r.details["per_key"]?.objectValue?["s0"]?.objectValue)
        #expect(s0["lost"] == .int(1) && s0["first_lost"] == .list([.int(3)]))
        let a = try #require(r.anomalies.first)
        #expect(a.kind == "lost-write" && r.anomalyCount == 1)
        #expect(a.operations.first?.input == .int(3) && a.operations.first?.f == .add)
        #expect(a.message.contains("add of 3 to set s0") && a.message.contains("by n1"))
    }

    @Test func maxLostBoundsTheCount() throws {
        let h = try Self.fourAdds(read: [1, 4])
        #expect(Self.run(h, LostWritesCheck(maxLost: 2))?.verdict == .valid)
        let over = try #require(Self.run(h, LostWritesCheck(maxLost: 1)))
        #expect(over.verdict == .invalid)
        #expect(over.summary.contains("2 lost > max_lost 1"))
        #expect(over.details["max_lost"] == .int(1))
    }

    @Test func maxLostFractionBoundsTheFraction() throws {
        let h = try Self.fourAdds(read: [1, 2, 4])
        #expect(Self.run(h, LostWritesCheck(maxLost: nil, maxLostFraction: 0.25))?.verdict == .valid)
        let over = try #require(Self.run(h, LostWritesCheck(maxLost: nil, maxLostFraction: 0.2)))
        #expect(over.verdict == .invalid)
        #expect(over.summary.contains("lost fraction 25.0% > max_lost_fraction 20.0%"))
        // Both bounds: either one broken is invalid.
        #expect(Self.run(h, LostWritesCheck(maxLost: 5, maxLostFraction: 0.2))?.verdict == .invalid)
        #expect(Self.run(h, LostWritesCheck(maxLost: 0, maxLostFraction: 0.5))?.verdict == .invalid)
        #expect(Self.run(h, LostWritesCheck(maxLost: 1, maxLostFraction: 0.5))?.verdict == .valid)
    }

    @Test func indeterminateAddsPresentAreRecoveredAndAbsentOnesAreNotLost() throws {
        var b = HistoryBuilder()
        b.op(0, "add", "s0", .int(1), 0, 5)
        b.op(1, "add", "s0", .int(2), 1, 6, status: .info)
        b.op(2, "add", "s0", .int(3), 2, nil, status: nil)  // never completed: info
        b.op(3, "add", "s0", .int(4), 3, 7, status: .info)
        b.op(0, "read", "s0", .null, 20, 30, output: .list([.int(1), .int(2), .int(3)]))
        let r = try #require(Self.run(try b.paired()))
        #expect(r.verdict == .valid)
        #expect(r.details["recovered"] == .int(2) && r.details["info_adds"] == .int(3) && r.details["lost"] == .int(0))
    }

    @Test func elementsNoAddWroteAreUnexpectedAndInvalidWhateverTheBounds() throws {
        var b = HistoryBuilder()
        b.op(0, "add", "s0", .int(1), 0, 5)
        b.op(1, "add", "s0", .int(2), 1, 6, status: .fail)  // did not happen, yet it shows up
        b.op(0, "read", "s0", .null, 20, 30, output: .list([.int(1), .int(2), .int(99), .int(99)]))
        let r = try #require(Self.run(try b.paired(), LostWritesCheck(maxLost: 10, maxLostFraction: 1)))
        #expect(r.verdict == .invalid)
        #expect(r.details["unexpected"] == .int(2) && r.details["fail_adds"] == .int(1))
        #expect(r.details["per_key"]?.objectValue?["s0"]?.objectValue?["first_unexpected"] == .list([.int(2), .int(99)]))
        #expect(r.anomalies.map(\.kind) == ["unexpected-element", "unexpected-element"])
        #expect(r.anomalies[0].operations.first?.f == .read)
        #expect(r.summary.contains("unexpected elements"))
    }

    @Test func addsConcurrentWithTheFinalReadAreNotJudged() throws {
        var b = HistoryBuilder()
        b.op(0, "add", "s0", .int(1), 0, 5)
        b.op(1, "add", "s0", .int(2), 18, 25)  // completes while the read is running
        b.op(1, "add", "s0", .int(3), 40, 45)  // after the final read
        b.op(2, "read", "s0", .null, 20, 30, output: .list([.int(1)]))
        let r = try #require(Self.run(try b.paired()))
        #expect(r.verdict == .valid)
        #expect(r.details["ok_adds"] == .int(1) && r.details["concurrent_adds"] == .int(2))
    }

    @Test func theLastOkReadIsTheFinalRead() throws {
        var b = HistoryBuilder()
        b.op(0, "add", "s0", .int(1), 0, 5)
        b.op(1, "read", "s0", .null, 6, 8, output: .list([.int(77)]))  // an earlier read: not judged
        b.op(1, "read", "s0", .null, 10, 12, output: .list([.int(1)]))
        b.op(2, "read", "s0", .null, 14, 16, status: .fail)
        b.op(2, "read", "s0", .null, 17, 19, status: .info)
        let r = try #require(Self.run(try b.paired()))
        #expect(r.verdict == .valid)
        #expect(r.details["unexpected"] == .int(0))
    }

    @Test func aSetWithoutAnOkFinalReadIsUnknownAndNamed() throws {
        var b = HistoryBuilder()
        b.op(0, "add", "s0", .int(1), 0, 5)
        b.op(0, "add", "s1", .int(2), 6, 8)
        b.op(1, "read", "s0", .null, 10, 12, output: .list([.int(1)]))
        b.op(1, "read", "s1", .null, 13, 15, status: .fail)
        let r = try #require(Self.run(try b.paired()))
        #expect(r.verdict == .unknown)
        #expect(r.summary.contains("unknown: no ok read of set s1"))
        #expect(r.details["per_key"]?.objectValue?["s1"]?.objectValue?["missing"] == .string("no ok read of set s1"))

        // Invalid beats unknown: a lost add in s0 decides it.
        var lost = HistoryBuilder()
        lost.op(0, "add", "s0", .int(1), 0, 5)
        lost.op(0, "add", "s1", .int(2), 6, 8)
        lost.op(1, "read", "s0", .null, 10, 12, output: .list([]))
        #expect(Self.run(try lost.paired())?.verdict == .invalid)

        // A final read that is not a list says nothing.
        var scalar = HistoryBuilder()
        scalar.op(0, "add", "s0", .int(1), 0, 5)
        scalar.op(1, "read", "s0", .null, 10, 12, output: .int(1))
        let s = try #require(Self.run(try scalar.paired()))
        #expect(s.verdict == .unknown && s.summary.contains("not a list of elements"))
    }

    @Test func aNullFinalReadIsTheEmptySet() throws {
        var b = HistoryBuilder()
        b.op(0, "add", "s0", .int(1), 0, 5)
        b.op(1, "read", "s0", .null, 10, 12, output: .null)
        #expect(Self.run(try b.paired())?.details["lost"] == .int(1))
    }

    @Test func aHistoryWithoutAddsIsSkippedUnlessNamed() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, 5)
        b.op(1, "read", "k", .null, 10, 12, output: .int(1))
        let h = try b.paired()
        #expect(Self.run(h, named: false) == nil)
        let named = try #require(Self.run(h))
        #expect(named.verdict == .unknown && named.summary.contains("needs add operations"))
    }

    @Test func anomaliesAreBoundedAndCounted() throws {
        var b = HistoryBuilder()
        for i in Int64(0)..<30 { b.op(0, "add", "s0", .int(i), i * 10, i * 10 + 5) }
        b.op(1, "read", "s0", .null, 1000, 1010, output: .list([]))
        let r = try #require(Self.run(try b.paired(), maxAnomalies: 5))
        #expect(r.anomalies.count == 5 && r.anomalyCount == 30)
        let firstLost = r.details["per_key"]?.objectValue?["s0"]?.objectValue?["first_lost"]
        #expect(firstLost == .list((0..<10).map { .int(Int64($0)) }))
    }

    @Test func jepsenEDNSetHistoriesRead() throws {
        let text = """
            {:type :invoke, :f :add, :value 0, :process 0, :time 1}
            {:type :ok, :f :add, :value 0, :process 0, :time 2}
            {:type :invoke, :f :add, :value 1, :process 1, :time 3}
            {:type :info, :f :add, :value 1, :process 1, :time 4}
            {:type :invoke, :f :add, :value 2, :process 2, :time 5}
            {:type :ok, :f :add, :value 2, :process 2, :time 6}
            {:type :invoke, :f :read, :value nil, :process 3, :time 10}
            {:type :ok, :f :read, :value #{0 1}, :process 3, :time 11}
            """
        let h = try HistoryReader.parse(text).paired()
        let r = try #require(Self.run(h))
        #expect(r.verdict == .invalid)
        #expect(r.details["lost"] == .int(1) && r.details["recovered"] == .int(1) && r.details["ok_adds"] == .int(2))
        // Jepsen's set workload has one set and no keys.
        #expect(r.anomalies.first?.message.contains("to set (single set) by process 2") == true)
    }

    /// Linearizability judges sets (SetModel) beside registers and when named; a history of
    /// sets only is this check's by default.
    @Test func linearizabilityLeavesSetsOnlyHistoriesToThisCheckByDefault() throws {
        var b = HistoryBuilder()
        b.op(0, "add", "s0", .int(1), 0, 5)
        b.op(1, "read", "s0", .null, 10, 12, output: .list([.int(1)]))
        b.op(0, "write", "k", .int(1), 20, 25)
        b.op(1, "read", "k", .null, 30, 32, output: .int(1))
        let report = try Checker.check(b.history, CheckRegistry.defaults, named: false)
        #expect(report[.linearizability]?.verdict == .valid)
        #expect(report[.lostWrites]?.verdict == .valid)
        #expect(report[.linearizability]?.details["keys"] == .int(2))
        // Sets only: skipped unless named, then judged as a set.
        var sets = HistoryBuilder()
        sets.op(0, "add", "s0", .int(1), 0, 5)
        sets.op(1, "read", "s0", .null, 10, 12, output: .list([.int(1)]))
        #expect(try Checker.check(sets.history, CheckRegistry.defaults, named: false)[.linearizability] == nil)
        let named = try Checker.check(sets.history, [LinearizabilityCheck()])
        #expect(named[.linearizability]?.verdict == .valid)
    }

    @Test func settingsRoundTripThroughJSON() throws {
        let c = LostWritesCheck(maxLost: 3, maxLostFraction: 0.05)
        #expect(c.settingsJSON == ["max_lost": .int(3), "max_lost_fraction": .double(0.05)])
        let back = try LostWritesCheck.fromJSON(c.settingsJSON)
        #expect(back.maxLost == 3 && back.maxLostFraction == 0.05)
        #expect(throws: CheckSettingsError.self) { try LostWritesCheck.fromJSON(["max_lost_fraction": .double(1.5)]) }
        #expect(CheckRegistry.type(named: "lost_writes") == LostWritesCheck.self)
    }

    /// Random set histories whose generator decides each element's fate (kept, dropped, or an
    /// element nobody added), against the check's counts and verdict under random bounds.
    @Test func agreesWithTheGeneratorsCountsOnRandomHistories() throws {
        var rng = SeededRandom(seed: 12, labels: "lost-writes")
        var lostSeen = 0, recoveredSeen = 0, unexpectedSeen = 0, unknownSeen = 0
        for caseIndex in 0..<300 {
            var b = HistoryBuilder()
            var expected = (okAdds: 0, lost: 0, recovered: 0, unexpected: 0, concurrent: 0)
            var missingRead: String?
            var element: Int64 = 0
            for (s, key) in ["s0", "s1"].enumerated() {
                let readAt: Int64 = 1_000
                var present: [HistoryValue] = []
                for p in 0..<3 {
                    var t = Int64(rng.next() % 20)
                    for _ in 0..<Int(rng.next() % 8) {
                        element += 1
                        let d = 1 + Int64(rng.next() % 30)
                        let process = Int64(s * 10 + p)
                        // Now and then an add still running when the final read begins.
                        let late = rng.next() % 12 == 0
                        let start = late ? readAt - 1 : t
                        switch rng.next() % 4 {
                        case 0:
                            b.op(process, "add", key, .int(element), start, start + d, status: .info)
                            if rng.next() % 2 == 0 {
                                present.append(.int(element))
                                expected.recovered += 1
                            }
                        case 1:
                            b.op(process, "add", key, .int(element), start, start + d, status: .fail)
                            if rng.next() % 8 == 0 {
                                present.append(.int(element))
                                expected.unexpected += 1
                            }
                        default:
                            b.op(process, "add", key, .int(element), start, start + d)
                            let kept = rng.next() % 5 != 0
                            if kept { present.append(.int(element)) }
                            if late {
                                expected.concurrent += 1
                            } else {
                                expected.okAdds += 1
                                if !kept { expected.lost += 1 }
                            }
                        }
                        if late { break }
                        t += d + 1
                    }
                }
                if rng.next() % 10 == 0 {
                    present.append(.int(100_000 + element))
                    expected.unexpected += 1
                }
                if rng.next() % 15 == 0, b.events.contains(where: { $0.key == key && $0.f == "add" }) {
                    // The final read timed out, and no earlier one completed.
                    missingRead = key
                    b.op(Int64(90 + s), "read", key, .null, readAt, readAt + 10, status: .info)
                } else {
                    // An earlier read with junk in it, which the final read supersedes.
                    b.op(Int64(90 + s), "read", key, .null, readAt - 500, readAt - 490, output: .list([.int(-1)]))
                    b.op(Int64(90 + s), "read", key, .null, readAt, readAt + 10, output: .list(present.shuffled(using: &rng)))
                }
            }
            let h = try b.paired()
            let maxLost: Int? = rng.next() % 3 == 0 ? Int(rng.next() % 4) : nil
            let maxFraction: Double? = rng.next() % 3 == 0 ? Double(rng.next() % 5) / 10 : nil
            let r = try #require(Self.run(h, LostWritesCheck(maxLost: maxLost, maxLostFraction: maxFraction), named: false), "case \(caseIndex)")
            if let missingRead {
                // Unknown, or invalid when the other set decides it.
                unknownSeen += 1
                #expect(r.verdict != .valid, "case \(caseIndex)")
                #expect(r.summary.contains("no ok read of set \(missingRead)"), "case \(caseIndex)")
                continue
            }
            #expect(r.details["ok_adds"] == .int(Int64(expected.okAdds)), "case \(caseIndex)")
            #expect(r.details["lost"] == .int(Int64(expected.lost)), "case \(caseIndex)")
            #expect(r.details["recovered"] == .int(Int64(expected.recovered)), "case \(caseIndex)")
            #expect(r.details["unexpected"] == .int(Int64(expected.unexpected)), "case \(caseIndex)")
            #expect(r.details["concurrent_adds"] == .int(Int64(expected.concurrent)), "case \(caseIndex)")
            let fraction = expected.okAdds == 0 ? 0 : Double(expected.lost) / Double(expected.okAdds)
            #expect(r.details["lost_fraction"] == .double(fraction), "case \(caseIndex)")
            let tooMany = maxLost == nil && maxFraction == nil
                ? expected.lost > 0
                : (maxLost.map { expected.lost > $0 } ?? false) || (maxFraction.map { fraction > $0 } ?? false)
            #expect(r.verdict == (tooMany || expected.unexpected > 0 ? .invalid : .valid), "case \(caseIndex)")
            #expect(r.anomalyCount == expected.lost + expected.unexpected, "case \(caseIndex)")
            lostSeen += expected.lost
            recoveredSeen += expected.recovered
            unexpectedSeen += expected.unexpected
        }
        // The generator reached every category.
        #expect(lostSeen > 0 && recoveredSeen > 0 && unexpectedSeen > 0 && unknownSeen > 0)
    }
}

/// Scoped to a region, `lost_writes` judges that region's clients' adds against the final
/// read (made by a process with no region); the other region's elements are not unexpected.
@Suite struct RegionalLostWritesTests {
    @Test func eachRegionJudgesItsOwnAdds() throws {
        var b = HistoryBuilder()
        b.op(0, "add", "s0", .int(1), 0, 5, node: "n1")    // us
        b.op(0, "add", "s0", .int(2), 10, 15, node: "n1")  // us, lost
        b.op(1, "add", "s0", .int(3), 0, 5, node: "n3")    // eu
        b.op(1, "add", "s0", .int(4), 10, 15, node: "n3")  // eu
        b.op(9, "read", "s0", .null, 100, 110, output: .list([.int(1), .int(3), .int(4)]))
        var h = try b.paired()
        h.metadata[PairedHistory.clientRegionsKey] = .object(["us": .list([.int(0)]), "eu": .list([.int(1)])])
        let outcomes = Checker.run([CheckSpec(check: LostWritesCheck(), region: "us"), CheckSpec(check: LostWritesCheck(), region: "eu"),
                                    CheckSpec(check: LostWritesCheck())], CheckContext(h))
        let us = try #require(outcomes[0].result), eu = try #require(outcomes[1].result), all = try #require(outcomes[2].result)
        #expect(us.verdict == .invalid && us.details["lost"] == .int(1) && us.details["ok_adds"] == .int(2) && us.details["unexpected"] == .int(0))
        #expect(eu.verdict == .valid && eu.details["lost"] == .int(0) && eu.details["ok_adds"] == .int(2) && eu.details["unexpected"] == .int(0))
        #expect(all.details["lost"] == .int(1) && all.details["ok_adds"] == .int(4))
        #expect(us.anomalies.first?.message.contains("add of 2 to set s0 by process 0") == true)
    }
}

/// A set's final read in an operation table: a long list shows its first elements and how many
/// more there are, so the anomaly's table stays readable; short values are written whole.
@Suite struct OperationTableCellTests {
    @Test func longListsAreCutAtAnElement() {
        let long = HistoryValue.list((1...300).map { .int(Int64($0)) })
        let cell = OperationTable.cell(long)
        #expect(cell.hasPrefix("[1,2,3,") && cell.hasSuffix(" more of 300]"), "\(cell)")
        #expect(cell.count <= OperationTable.maxCell)
        let shown = cell.dropFirst().prefix { $0 != "." }.split(separator: ",").count
        #expect(cell.contains("... \(300 - shown) more of 300]"), "\(cell)")
        #expect(OperationTable.cell(.list([.int(1), .int(2)])) == "[1,2]")
        #expect(OperationTable.cell(.string(String(repeating: "x", count: 100))).count > 100, "only lists are cut")
    }
}
