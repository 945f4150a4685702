import RiftCore
import RiftHistory
import Testing
@testable import RiftChecker

@Suite struct StalenessTests {
    @Test func measuresVersionsBehindAndStaleFor() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, 10)
        b.op(0, "write", "k", .int(2), 20, 30)
        b.op(0, "write", "k", .int(3), 40, 50)
        b.op(1, "read", "k", .null, 60, 70, output: .int(1), node: "n2")   // 2 and 3 completed: 2 behind, since 30
        b.op(1, "read", "k", .null, 80, 90, output: .int(3), node: "n1")   // fresh
        b.op(2, "read", "k", .null, 45, 46, output: .null, node: "n1")     // absent = 0; 1 and 2 done: 2 behind, since 10
        let h = try b.paired()
        let m = StalenessChecker.measure(h)
        let byOp = Dictionary(uniqueKeysWithValues: m.map { ($0.operation, $0) })
        // Operation ids follow invocation order: the read at 45 is 3, at 60 is 4, at 80 is 5.
        #expect(byOp[3] == ReadStaleness(operation: 3, versionsBehind: 2, staleForNs: 35))
        #expect(byOp[4] == ReadStaleness(operation: 4, versionsBehind: 2, staleForNs: 30))
        #expect(byOp[5] == ReadStaleness(operation: 5, versionsBehind: 0, staleForNs: 0))

        let report = try Checker.check(b.history, [StalenessCheck(maxStalenessNs: 31)])
        let s = try #require(report[.staleness])
        #expect(s.verdict == .invalid)
        #expect(s.anomalyCount == 1)
        #expect(s.anomalies[0].operations.map(\.id) == [3])
        guard case .object(let perNode)? = s.details["per_node"] else { Issue.record("no per-node distribution"); return }
        #expect(Set(perNode.keys) == ["n1", "n2"])
        let byVersions = try Checker.check(b.history, [StalenessCheck(maxVersionsBehind: 2)])
        #expect(byVersions.verdict == .valid)
        let strict = try Checker.check(b.history, [StalenessCheck(maxVersionsBehind: 1)])
        #expect(strict[.staleness]?.anomalyCount == 2)
    }

    @Test func aWindowLimitsTheReadsJudged() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, 10)
        b.op(0, "write", "k", .int(2), 20, 30)
        b.nemesis("start", 35)
        b.op(1, "read", "k", .null, 40, 45, output: .int(1))
        b.nemesis("stop", 50)
        b.op(1, "read", "k", .null, 60, 65, output: .int(2))
        let all = try Checker.check(b.history, [StalenessCheck(maxVersionsBehind: 0)])
        #expect(all.verdict == .invalid)
        let afterHeal = try Checker.check(b.history, [StalenessCheck(maxVersionsBehind: 0)], from: try WindowBound.parse("heal+5ns"))
        #expect(afterHeal.verdict == .valid)
        let duringFault = try Checker.check(b.history, [StalenessCheck(maxVersionsBehind: 0)], from: .parse("start"), until: .parse("heal"))
        #expect(duringFault.verdict == .invalid)
    }

    /// Direct definition, O(reads × writes²): the distinct values of `ok` writes completed
    /// before the read's invocation that surely came after the value read (its write completed
    /// before theirs was invoked; by value when either has no write).
    static func direct(_ ops: [HistoryOperation]) -> [Int: ReadStaleness] {
        let writes = ops.filter { $0.f == .write && $0.status != .fail }
        func invoked(_ key: String, _ v: Int64) -> Int64? {
            writes.filter { $0.key == key && $0.input.intValue == v }.map(\.invokeTime).min()
        }
        func completed(_ key: String, _ v: Int64) -> Int64? {
            let all = writes.filter { $0.key == key && $0.input.intValue == v }
            if all.isEmpty { return nil }
            return all.filter { $0.status == .ok }.compactMap(\.completeTime).min() ?? .max
        }
        var out: [Int: ReadStaleness] = [:]
        for r in ops where r.f == .read && r.status == .ok {
            let x = r.output.intValue ?? 0
            let s = ops.filter { w in
                guard w.f == .write, w.status == .ok, w.key == r.key, w.completeTime! < r.invokeTime else { return false }
                let v = w.input.intValue!
                if let cx = completed(r.key, x), let iv = invoked(r.key, v) { return cx < iv }
                return x < v
            }
            let distinct = Set(s.map { $0.input.intValue! }).count
            let earliest = s.map { $0.completeTime! }.min()
            out[r.id] = ReadStaleness(operation: r.id, versionsBehind: distinct, staleForNs: earliest.map { r.invokeTime - $0 } ?? 0)
        }
        return out
    }

    @Test func agreesWithTheDefinitionOnRandomHistories() throws {
        var rng = SeededRandom(seed: 7, labels: "staleness")
        var staleReads = 0
        for caseIndex in 0..<200 {
            let b = HistoryBuilder.randomIntegerHistory(&rng, maxOpsPerProcess: 8)
            let h = try b.paired()
            let got = Dictionary(uniqueKeysWithValues: StalenessChecker.measure(h).map { ($0.operation, $0) })
            #expect(got == Self.direct(h.operations), "case \(caseIndex)")
            staleReads += got.values.filter { $0.versionsBehind > 0 }.count
        }
        #expect(staleReads > 50)
    }
}

/// Writers that take values 5 then 6 and run concurrently may land 6 first and 5 last; then 5 is
/// the register's latest value, and reading it is neither stale nor going backwards. A value
/// whose write completed before another's began is surely older, and reading it is flagged.
@Suite struct ConcurrentWriteTests {
    static var history: HistoryBuilder {
        var b = HistoryBuilder()
        b.op(3, "write", "k", .int(4), 0, 2)
        b.op(1, "write", "k", .int(5), 3, 15)
        b.op(0, "write", "k", .int(6), 4, 10)
        b.op(2, "read", "k", .null, 5, 8, output: .int(6))     // 6 landed first
        b.nemesis("stop", 19)
        b.op(2, "read", "k", .null, 20, 22, output: .int(5))   // then 5: the latest, fresh
        b.op(2, "read", "k", .null, 25, 27, output: .int(4))   // 4 completed before 5 and 6 began: stale
        b.op(0, "read", "k", .null, 30, 32, output: .int(5))   // p0 wrote 6, reads the concurrent 5: fine
        return b
    }

    @Test func stalenessCountsOnlySurelyNewerWrites() throws {
        let h = try Self.history.paired()
        let byOp = Dictionary(uniqueKeysWithValues: StalenessChecker.measure(h).map { ($0.operation, $0) })
        #expect(byOp[3] == ReadStaleness(operation: 3, versionsBehind: 0, staleForNs: 0))
        #expect(byOp[4] == ReadStaleness(operation: 4, versionsBehind: 0, staleForNs: 0))
        #expect(byOp[5] == ReadStaleness(operation: 5, versionsBehind: 2, staleForNs: 15))
        #expect(byOp[6] == ReadStaleness(operation: 6, versionsBehind: 0, staleForNs: 0))
        #expect(StalenessChecker.measure(h).map { byOp[$0.operation]! } == Self.directMeasure(h))
    }

    static func directMeasure(_ h: PairedHistory) -> [ReadStaleness] {
        let d = StalenessTests.direct(h.operations)
        return StalenessChecker.measure(h).map { d[$0.operation]! }
    }

    @Test func sessionChecksFlagOnlyTheSurelyOlderRead() throws {
        let r = try Checker.check(Self.history.history, [MonotonicReadsCheck(), ReadYourWritesCheck(), StaleReplayCheck()])
        let mono = try #require(r[.monotonicReads])
        #expect(mono.anomalyCount == 1)
        #expect(mono.anomalies.first?.operations.map(\.id) == [3, 5])
        #expect(try #require(r[.readYourWrites]).anomalyCount == 0)
        let replay = try #require(r[.staleReplay])
        #expect(replay.anomalyCount == 1)
        #expect(replay.anomalies.first?.operations.last?.id == 5)
    }

    @Test func convergenceEndsAtTheLastSurelyStaleRead() throws {
        let r = try Checker.check(Self.history.history, [ConvergenceCheck()])
        let c = try #require(r[.convergence])
        #expect(c.details["converged_after_ns"] == .int(27 - 19))
        #expect(c.details["stale_reads_after_heal"] == .int(1))
    }

    @Test func anInfoWriteMayLandAnyTime() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, nil, status: nil)      // never completed
        b.op(1, "write", "k", .int(2), 5, 10)
        b.op(2, "read", "k", .null, 20, 22, output: .int(1))     // 1 may have landed after 2
        b.op(2, "read", "k", .null, 30, 32, output: .int(0))     // the initial value: surely older
        let h = try b.paired()
        let byOp = Dictionary(uniqueKeysWithValues: StalenessChecker.measure(h).map { ($0.operation, $0) })
        #expect(byOp[2]?.versionsBehind == 0)
        #expect(byOp[3]?.versionsBehind == 1)
        #expect(StalenessTests.direct(h.operations)[2]?.versionsBehind == 0)
    }
}

@Suite struct SessionCheckTests {
    @Test func monotonicReadsFlagsAProcessGoingBackwards() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(5), 0, 10)
        b.op(1, "read", "k", .null, 20, 30, output: .int(5))
        b.op(1, "read", "k", .null, 40, 50, output: .int(4))
        b.op(2, "read", "k", .null, 40, 50, output: .int(4))   // another process: not a violation
        let r = try Checker.check(b.history, [MonotonicReadsCheck()])
        let m = try #require(r[.monotonicReads])
        #expect(m.verdict == .invalid)
        #expect(m.anomalyCount == 1)
        #expect(m.anomalies[0].operations.map(\.id) == [1, 2])
    }

    @Test func readYourWritesUsesTheSessionOrTheProcess() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(3), 0, 10)
        b.op(0, "read", "k", .null, 20, 30, output: .int(2))
        b.op(1, "write", "k", .int(9), 0, 10, session: "s")
        b.op(2, "read", "k", .null, 20, 30, output: .int(9), session: "s")
        let r = try Checker.check(b.history, [ReadYourWritesCheck()])
        let s = try #require(r[.readYourWrites])
        #expect(s.verdict == .invalid)
        #expect(s.anomalyCount == 1)
        #expect(s.anomalies[0].operations.map(\.id) == [0, 2])
    }

    @Test func staleReplayAfterRecovery() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(2), 0, 10)
        b.op(1, "read", "k", .null, 5, 8, output: .int(1))     // before the heal: not judged
        b.nemesis("stop", 15)
        b.op(1, "read", "k", .null, 20, 30, output: .int(2))
        b.op(2, "read", "k", .null, 25, 35, output: .int(1))   // concurrent with the read of 2: allowed
        b.op(2, "read", "k", .null, 40, 50, output: .int(1))   // after the read of 2 completed: replay
        let r = try Checker.check(b.history, [StaleReplayCheck()])
        let s = try #require(r[.staleReplay])
        #expect(s.verdict == .invalid)
        #expect(s.anomalyCount == 1)
        #expect(s.anomalies[0].operations.map(\.id) == [2, 4])
    }

    @Test func monotonicReadsAgreesWithTheDefinition() throws {
        var rng = SeededRandom(seed: 11, labels: "monotonic")
        for caseIndex in 0..<200 {
            var b = HistoryBuilder()
            for p in 0..<3 {
                var t: Int64 = 0
                for _ in 0..<Int(rng.next() % 7) {
                    b.op(Int64(p), "read", "k\(rng.next() % 2)", .null, t, t + 3, output: .int(Int64(rng.next() % 4)))
                    t += 5
                }
            }
            let h = try b.paired()
            let reads = h.operations
            let expected = reads.filter { r in
                reads.contains { e in e.process == r.process && e.key == r.key && e.invokeTime < r.invokeTime && e.output.intValue! > r.output.intValue! }
            }.count
            let got = try Checker.check(b.history, [MonotonicReadsCheck()])[.monotonicReads]!.anomalyCount
            #expect(got == expected, "case \(caseIndex)")
        }
    }

    @Test func convergenceAfterTheHeal() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, 10)
        b.nemesis("start", 11)
        b.op(0, "write", "k", .int(2), 12, 20)
        b.nemesis("stop", 100)
        b.op(1, "read", "k", .null, 110, 120, output: .int(1), node: "n2")   // still stale
        b.op(1, "read", "k", .null, 300, 310, output: .int(2), node: "n2")
        b.op(2, "read", "k", .null, 300, 310, output: .int(2), node: "n1")
        let ok = try Checker.check(b.history, [ConvergenceCheck(withinNs: 50)])
        let c = try #require(ok[.convergence])
        #expect(c.details["converged_after_ns"] == .int(20))
        #expect(c.details["per_node_converged_after_ns"] == .object(["n1": .int(0), "n2": .int(20)]))
        #expect(c.verdict == .valid)
        let late = try Checker.check(b.history, [ConvergenceCheck(withinNs: 10)])
        #expect(late.verdict == .invalid)
        #expect(late[.convergence]?.anomalies.first?.operations.map(\.id) == [2])
    }

    @Test func valuesThatDoNotGrowInWriteOrderAreNotJudged() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(5), 0, 10)
        b.op(0, "write", "k", .int(3), 20, 30)
        b.op(1, "read", "k", .null, 40, 50, output: .int(3))
        b.op(1, "read", "k", .null, 60, 70, output: .int(5))
        #expect(try Checker.check(b.history, [MonotonicReadsCheck()]).verdict == .unknown)
        #expect(try Checker.check(b.history).checks.map(\.kind) == [.linearizability])
    }

    @Test func checksNeedingIntegersAreUnknownWhenNamedAndSkippedOtherwise() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .string("a"), 0, 10)
        b.op(1, "read", "k", .null, 20, 30, output: .string("a"))
        let named = try Checker.check(b.history, [StalenessCheck()])
        #expect(named.verdict == .unknown)
        let all = try Checker.check(b.history)
        #expect(all.checks.map(\.kind) == [.linearizability])
        #expect(all.verdict == .valid)
    }
}

@Suite struct WindowBoundTests {
    @Test func parsesNanosecondsAndNemesisOffsets() throws {
        #expect(try WindowBound.parse("1500") == .absolute(1500))
        #expect(try WindowBound.parse("heal+2s") == .nemesis(f: "stop", offsetNs: 2_000_000_000))
        #expect(try WindowBound.parse("start+1s") == .nemesis(f: "start", offsetNs: 1_000_000_000))
        #expect(try WindowBound.parse("heal-500ms") == .nemesis(f: "stop", offsetNs: -500_000_000))
        #expect(try WindowBound.parse("heal") == .nemesis(f: "stop", offsetNs: 0))
        #expect(throws: WindowBound.Failure.self) { try WindowBound.parse("heal+2") }
        #expect(throws: WindowBound.Failure.self) { try WindowBound.parse("later") }
    }

    @Test func resolvingNeedsTheNemesisEvent() throws {
        var b = HistoryBuilder()
        b.nemesis("stop", 1_000)
        let h = try b.paired()
        #expect(try WindowBound.parse("heal+2us").resolve(in: h) == 3_000)
        #expect(throws: WindowBound.Failure.self) { try WindowBound.parse("start").resolve(in: h) }
    }

    @Test func verdictsCompose() {
        #expect(Verdict.combine([.valid, .unknown]) == .unknown)
        #expect(Verdict.combine([.unknown, .invalid, .valid]) == .invalid)
        // Nothing checked shows nothing: never a pass.
        #expect(Verdict.combine([]) == .unknown)
    }
}

@Suite struct CausalSessionTests {
    @Test func monotonicWritesAndWritesFollowReads() throws {
        var b = HistoryBuilder()
        // Session A writes x=1, reads y=5, then writes z=1.
        b.op(9, "write", "y", .int(5), 0, 5, session: "B")
        b.op(0, "write", "x", .int(1), 10, 20, session: "A")
        b.op(0, "read", "y", .null, 21, 25, output: .int(5), session: "A")
        b.op(0, "write", "z", .int(1), 30, 40, session: "A")
        // Session C sees z=1, then reads x=0 (misses A's earlier write) and y=0 (misses what A read).
        b.op(1, "read", "z", .null, 50, 60, output: .int(1), session: "C")
        b.op(1, "read", "x", .null, 70, 80, output: .null, session: "C")
        b.op(1, "read", "y", .null, 90, 95, output: .null, session: "C")
        let r = try Checker.check(b.history, [MonotonicWritesCheck(), WritesFollowReadsCheck()])
        let mw = try #require(r[.monotonicWrites])
        let wfr = try #require(r[.writesFollowReads])
        #expect(mw.verdict == .invalid && mw.anomalyCount == 1)
        #expect(mw.anomalies[0].operations.map(\.id) == [1, 3, 5])
        #expect(wfr.verdict == .invalid && wfr.anomalyCount == 1)
        #expect(wfr.anomalies[0].operations.map(\.id) == [2, 3, 6])
    }

    /// Direct definition: a read r2 of session P violates when, for some other session S, P
    /// earlier read the value of a write w by S (its only write of that value to that key) and
    /// some operation of S before w wrote (monotonic writes) or read (writes-follow-reads) a
    /// value of r2's key that surely came after r2's value (its write completed before that
    /// value's write began; by value when either has no write).
    static func direct(_ ops: [HistoryOperation]) -> (mw: Int, wfr: Int) {
        func session(_ o: HistoryOperation) -> String { o.session ?? "process \(o.process)" }
        func before(_ a: HistoryOperation, _ b: HistoryOperation) -> Bool { (a.invokeTime, a.id) < (b.invokeTime, b.id) }
        let writes = ops.filter { $0.f == .write }
        func surelyBefore(_ key: String, _ older: Int64, _ newer: Int64) -> Bool {
            let wo = writes.filter { $0.key == key && $0.input.intValue == older }
            let wn = writes.filter { $0.key == key && $0.input.intValue == newer }
            guard !wo.isEmpty, !wn.isEmpty else { return older < newer }
            return wo.compactMap(\.completeTime).min()! < wn.map(\.invokeTime).min()!
        }
        var mw = 0, wfr = 0
        for r2 in ops where r2.f == .read {
            let v2 = r2.output.intValue ?? 0
            var sessionsMW = Set<String>(), sessionsWFR = Set<String>()
            for r1 in ops where r1.f == .read && session(r1) == session(r2) && before(r1, r2) {
                let v1 = r1.output.intValue ?? 0
                let ws = writes.filter { $0.key == r1.key && $0.input.intValue == v1 }
                guard ws.count == 1, let w = ws.first, session(w) != session(r2) else { continue }
                for o in ops where session(o) == session(w) && before(o, w) && o.key == r2.key {
                    if o.f == .write, surelyBefore(r2.key, v2, o.input.intValue!) { sessionsMW.insert(session(w)) }
                    if o.f == .read, surelyBefore(r2.key, v2, o.output.intValue ?? 0) { sessionsWFR.insert(session(w)) }
                }
            }
            mw += sessionsMW.isEmpty ? 0 : 1
            wfr += sessionsWFR.isEmpty ? 0 : 1
        }
        return (mw, wfr)
    }

    @Test func agreesWithTheDefinitionOnRandomHistories() throws {
        var rng = SeededRandom(seed: 5, labels: "causal")
        var total = 0
        for caseIndex in 0..<300 {
            var planned: [(p: Int64, key: String, write: Bool, t: Int64, read: Int64)] = []
            for p in 0..<3 {
                var t = Int64(rng.next() % 5)
                for _ in 0..<Int(rng.next() % 7) {
                    planned.append((Int64(p), "k\(rng.next() % 2)", rng.next() % 2 == 0, t, Int64(rng.next() % 5)))
                    t += 4 + Int64(rng.next() % 4)
                }
            }
            var counter: [String: Int64] = [:]
            var b = HistoryBuilder()
            for op in planned.sorted(by: { $0.t < $1.t }) {
                if op.write {
                    counter[op.key, default: 0] += 1
                    b.op(op.p, "write", op.key, .int(counter[op.key]!), op.t, op.t + 3)
                } else {
                    b.op(op.p, "read", op.key, .null, op.t, op.t + 3, output: .int(op.read))
                }
            }
            let h = try b.paired()
            let expected = Self.direct(h.operations)
            let r = try Checker.check(b.history, [MonotonicWritesCheck(), WritesFollowReadsCheck()])
            #expect(r[.monotonicWrites]?.anomalyCount == expected.mw, "case \(caseIndex)")
            #expect(r[.writesFollowReads]?.anomalyCount == expected.wfr, "case \(caseIndex)")
            total += expected.mw + expected.wfr
        }
        #expect(total > 30)
    }
}
