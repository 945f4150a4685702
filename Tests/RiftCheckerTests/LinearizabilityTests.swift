import RiftHistory
import Testing
@testable import RiftChecker

@Suite struct LinearizabilityTests {
    func verdict(_ b: HistoryBuilder) throws -> LinearizabilityResult {
        LinearizabilityChecker.check(try b.paired().operations, stopAtFirstInvalid: false)
    }

    @Test func sequentialWriteThenReadIsLinearizable() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, 10)
        b.op(1, "read", "k", .null, 20, 30, output: .int(1))
        #expect(try verdict(b).verdict == .valid)
    }

    @Test func aStaleReadAfterACompletedWriteIsNot() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, 10)
        b.op(0, "write", "k", .int(2), 11, 20)
        b.op(1, "read", "k", .null, 30, 40, output: .int(1))
        let r = try verdict(b)
        #expect(r.verdict == .invalid)
        #expect(r.invalidKeys == ["k"])
        let key = r.keys[0]
        // Both writes linearize; the read (operation 2) cannot.
        #expect(key.longestPrefix == [0, 1])
        #expect(key.blocked.first == 2)
        #expect(key.prefixState == "2")
    }

    @Test func concurrentReadMaySeeEitherValue() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, 10)
        b.op(0, "write", "k", .int(2), 11, 50)
        b.op(1, "read", "k", .null, 20, 30, output: .int(1))
        b.op(2, "read", "k", .null, 25, 35, output: .int(2))
        #expect(try verdict(b).verdict == .valid)
    }

    @Test func readsOfAnAbsentKeyReturnNull() throws {
        var b = HistoryBuilder()
        b.op(0, "read", "k", .null, 0, 10, output: .null)
        b.op(0, "write", "k", .string("x"), 11, 20)
        b.op(0, "delete", "k", .null, 21, 30)
        b.op(1, "read", "k", .null, 31, 40, output: .null)
        #expect(try verdict(b).verdict == .valid)
        var bad = b
        bad.op(2, "read", "k", .null, 41, 50, output: .string("x"))
        #expect(try verdict(bad).verdict == .invalid)
    }

    @Test func casSucceedsOnlyOnTheExpectedValue() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, 10)
        b.op(0, "cas", "k", .cas(1, 2), 11, 20)
        b.op(1, "read", "k", .null, 21, 30, output: .int(2))
        #expect(try verdict(b).verdict == .valid)
        var bad = HistoryBuilder()
        bad.op(0, "write", "k", .int(1), 0, 10)
        bad.op(0, "cas", "k", .cas(3, 2), 11, 20)
        #expect(try verdict(bad).verdict == .invalid)
    }

    @Test func aFailedCasDidNotHappenButACompareFailureConstrains() throws {
        // Jepsen's fail: no effect, so a later read of 1 is fine.
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, 10)
        b.op(0, "cas", "k", .cas(1, 2), 11, 20, status: .fail)
        b.op(1, "read", "k", .null, 21, 30, output: .int(1))
        #expect(try verdict(b).verdict == .valid)
        // Porcupine's reading: the cas ran and compared false, impossible while the register held 1.
        var p = HistoryBuilder()
        p.op(0, "write", "k", .int(1), 0, 10)
        p.op(0, "cas", "k", .cas(1, 2), 11, 20, output: .bool(false))
        #expect(try verdict(p).verdict == .invalid)
    }

    @Test func anInfoWriteMayTakeEffectLateOrNever() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, 10, status: .info)
        b.op(1, "read", "k", .null, 20, 30, output: .null)
        b.op(1, "read", "k", .null, 40, 50, output: .int(1))
        #expect(try verdict(b).verdict == .valid)
        var never = HistoryBuilder()
        never.op(0, "write", "k", .int(1), 0, 10, status: .info)
        never.op(1, "read", "k", .null, 20, 30, output: .null)
        #expect(try verdict(never).verdict == .valid)
        // But not before its invocation.
        var early = HistoryBuilder()
        early.op(1, "read", "k", .null, 0, 5, output: .int(1))
        early.op(0, "write", "k", .int(1), 10, 20, status: .info)
        #expect(try verdict(early).verdict == .invalid)
    }

    @Test func aCrashedWriterIsTreatedLikeInfo() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(7), 0, nil, status: nil)
        b.op(1, "read", "k", .null, 100, 110, output: .int(7))
        #expect(try verdict(b).verdict == .valid)
    }

    @Test func keysAreCheckedIndependently() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "a", .int(1), 0, 10)
        b.op(1, "write", "b", .int(1), 0, 10)
        b.op(0, "read", "a", .null, 20, 30, output: .int(1))
        b.op(1, "read", "b", .null, 20, 30, output: .int(2))
        let r = try verdict(b)
        #expect(r.verdict == .invalid)
        #expect(r.invalidKeys == ["b"])
        #expect(r.keys.count == 2)
    }

    @Test func theKVModelAppendsAndGets() throws {
        var b = HistoryBuilder()
        b.op(0, "put", "k", .string("a"), 0, 10)
        b.op(0, "append", "k", .string("b"), 11, 20)
        b.op(1, "append", "k", .string("c"), 15, 25)
        b.op(2, "get", "k", .null, 30, 40, output: .string("acb"))
        #expect(try verdict(b).verdict == .valid)
        var bad = b
        bad.op(3, "get", "k", .null, 50, 60, output: .string("ab"))
        #expect(try verdict(bad).verdict == .invalid)
    }

    /// Many concurrent writes (values repeated, so the unique-writes check does not apply) and
    /// an impossible read: refuting it explores every subset.
    static func hardHistory() -> HistoryBuilder {
        var b = HistoryBuilder()
        for p in 0..<40 { b.op(Int64(p), "write", "k", .int(Int64(p % 20)), 0, 1000) }
        for p in 0..<40 { b.op(Int64(100 + p), "read", "k", .null, 10, 990, output: .int(Int64(p % 20))) }
        b.op(200, "read", "k", .null, 1001, 1002, output: .int(999))
        return b
    }

    @Test func aTimeBudgetGivesUnknownNeverValid() throws {
        let r = LinearizabilityChecker.check(try Self.hardHistory().paired().operations, timeoutNs: 20_000_000)
        #expect(r.verdict == .unknown)
        #expect(r.keys[0].reason == "time budget exhausted")
        #expect(r.keys[0].method == "search")
    }

    @Test func aMemoryBoundStopsTheSearch() throws {
        let ops = try Self.hardHistory().paired().operations
        let (model, calls) = try RegisterModel.compile(ops)
        let search = WGLSearch(
            model: model, calls: calls, invokeTimes: ops.map(\.invokeTime), returnTimes: ops.map { $0.completeTime ?? .max },
            infoPredecessor: Array(repeating: -1, count: ops.count))
        var stats = SearchStats()
        guard case .outOfMemory = search.run(deadlineNs: nil, memoryLimitBytes: 64 << 10, stats: &stats) else {
            Issue.record("expected the memory bound to stop the search")
            return
        }
        #expect(stats.steps > 0)
    }

    @Test func uniqueWritesAreDecidedWithoutSearch() throws {
        // The same shape with unique values: the zones decide at once, either way.
        var b = HistoryBuilder()
        for p in 0..<40 { b.op(Int64(p), "write", "k", .int(Int64(p)), 0, 1000) }
        for p in 0..<40 { b.op(Int64(100 + p), "read", "k", .null, 10, 990, output: .int(Int64(p))) }
        let ok = LinearizabilityChecker.check(try b.paired().operations, timeoutNs: 20_000_000)
        #expect(ok.verdict == .valid)
        #expect(ok.keys[0].method == "zones")
        b.op(200, "read", "k", .null, 1001, 1002, output: .int(999))
        let bad = LinearizabilityChecker.check(try b.paired().operations, timeoutNs: 20_000_000)
        #expect(bad.verdict == .invalid)
        #expect(bad.keys[0].method == "zones")
        #expect(bad.keys[0].blocked.contains(80))
    }

    @Test func anUnsupportedOperationMakesTheKeyUnknown() throws {
        var b = HistoryBuilder()
        b.op(0, "cas", "k", .int(3), 0, 10)
        let r = try verdict(b)
        #expect(r.verdict == .unknown)
        #expect(r.keys[0].reason?.contains("[expected, new]") == true)
    }
}
