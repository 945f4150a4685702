import RiftHistory
import Testing
@testable import RiftChecker

/// The grow-only set on Jepsen's set histories (`type: set`): acknowledged adds must be in a
/// later read, indeterminate ones may or may not be, and nothing else may appear.
@Suite struct SetModelTests {
    /// Adds of 1, 2 (ok) and 3 (`info`, never completed) to `s0`, then one read returning `read`.
    static func history(read: [Int64]) throws -> [HistoryOperation] {
        var b = HistoryBuilder()
        b.op(0, "add", "s0", .int(1), 0, 5)
        b.op(1, "add", "s0", .int(2), 2, 7)
        b.op(2, "add", "s0", .int(3), 3, 8, status: .info)
        b.op(3, "read", "s0", .null, 10, 12, output: .list(read.map { .int($0) }))
        return try b.paired().operations
    }

    @Test(arguments: [
        ([1, 2], Verdict.valid),        // the indeterminate add never happened
        ([1, 2, 3], .valid),            // or it did
        ([2, 1], .valid),               // a read's order does not matter
        ([1], .invalid),                // 2 was acknowledged and is lost
        ([1, 2, 4], .invalid),          // 4 was never added
        ([], .invalid),
    ])
    func aReadHoldsEveryAcknowledgedAddAndNothingElse(read: [Int64], expected: Verdict) throws {
        let r = LinearizabilityChecker.check(try Self.history(read: read))
        #expect(r.verdict == expected, "\(read)")
        #expect(r.keys.map(\.model) == [.set] && r.keys.map(\.key) == ["s0"])
    }

    /// A read during an add may or may not see it; a read after it must.
    @Test func concurrencyDecidesWhatAReadMaySee() throws {
        var b = HistoryBuilder()
        b.op(0, "add", "s0", .int(1), 0, 10)
        b.op(1, "read", "s0", .null, 2, 4, output: .list([]))
        b.op(2, "read", "s0", .null, 5, 6, output: .list([.int(1)]))
        b.op(3, "read", "s0", .null, 11, 12, output: .list([]))
        let ops = try b.paired().operations
        #expect(LinearizabilityChecker.check(Array(ops.prefix(3))).verdict == .valid)
        #expect(LinearizabilityChecker.check(ops).verdict == .invalid)
    }

    @Test func aReadThatIsNotAListIsUnknown() throws {
        var b = HistoryBuilder()
        b.op(0, "add", "s0", .int(1), 0, 5)
        b.op(1, "read", "s0", .null, 6, 7, output: .int(1))
        let r = LinearizabilityChecker.check(try b.paired().operations)
        #expect(r.verdict == .unknown)
        #expect(r.keys.first?.reason?.hasPrefix("a set read returns a list of elements") == true, "\(r.keys)")
    }

    @Test func aSetOverTheLimitIsUnknown() throws {
        var b = HistoryBuilder()
        for e in 0...Int64(SetModel.maxElements) { b.op(e % 4, "add", "s0", .int(e), e * 10, e * 10 + 5) }
        let r = LinearizabilityChecker.check(try b.paired().operations)
        #expect(r.verdict == .unknown)
        #expect(r.keys.first?.reason == "10001 elements, over the set model's 10000; lost_writes judges sets of any size")
    }

    /// On a history of sets only, linearizability runs when named, and is left to lost_writes
    /// by default.
    @Test func aSetsOnlyHistoryIsJudgedWhenNamed() throws {
        var b = HistoryBuilder()
        b.op(0, "add", "s0", .int(1), 0, 5)
        b.op(1, "read", "s0", .null, 6, 7, output: .list([]))
        #expect(try Checker.check(b.history, [LinearizabilityCheck()]).checks.map(\.verdict) == [.invalid])
        #expect(try Checker.check(b.history, [LinearizabilityCheck()], named: false).checks.isEmpty)
    }

    @Test func theStateDescribesItsCountAndFirstElements() throws {
        let (model, calls) = try SetModel.compile(try Self.history(read: [1, 2]))
        var state = model.initialState
        for (input, output) in calls.prefix(2) { state = try #require(model.step(state, input, output)) }
        #expect(model.describe(state: state) == "2 elements {1, 2}")
    }
}
