import RiftHistory
import Testing
@testable import RiftChecker

/// The multi-register model, the connected-keys partitioning and the initial value, on the
/// fixtures in `MultiRegisterFixtures`.
@Suite struct MultiRegisterTests {
    static func check(_ text: String, initial: HistoryValue = .null) throws -> CheckResult {
        let check = LinearizabilityCheck(timeoutNs: nil, stopAtFirstInvalid: false, initialValue: initial.isNull ? nil : initial)
        let report = try Checker.check(try HistoryReader.parse(text, format: .edn), [check])
        return report.checks[0]
    }

    @Test func validFromZeroAndInvalidFromAbsent() throws {
        let zero = try Self.check(MultiRegisterFixtures.valid, initial: .int(0))
        #expect(zero.verdict == .valid)
        #expect(zero.summary == "1 keys, all linearizable")
        #expect(zero.details["initial_value"] == .int(0))
        let absent = try Self.check(MultiRegisterFixtures.valid)
        #expect(absent.verdict == .invalid)
        #expect(absent.details["invalid_keys"] == .list([.string("x,y")]))
    }

    @Test func aTornReadFailsTogetherThoughEachKeyAlonePasses() throws {
        let r = try Self.check(MultiRegisterFixtures.tornRead, initial: .int(0))
        #expect(r.verdict == .invalid)
        #expect(r.anomalies.first?.message.hasPrefix("keys x,y:") == true)
        // Split per key, as a checker that ignores txn atomicity would: both keys pass.
        let ops = try HistoryReader.parse(MultiRegisterFixtures.tornRead).paired().operations
        for key in ["x", "y"] {
            let projected = ops.compactMap { op -> HistoryOperation? in
                guard let step = op.txnSteps?.first(where: { $0.key == key }) else { return nil }
                var o = op
                o.f = step.f == .read ? .read : .write
                o.key = key
                o.input = step.f == .write ? step.value : .null
                o.output = step.value
                return o
            }
            let perKey = LinearizabilityChecker.check(projected, settings: ModelSettings(initialValue: .int(0)))
            #expect(perKey.verdict == .valid, "key \(key)")
        }
    }

    @Test func aCrashedTxnAppliesAllOrNothing() throws {
        #expect(try Self.check(MultiRegisterFixtures.infoApplied, initial: .int(0)).verdict == .valid)
        #expect(try Self.check(MultiRegisterFixtures.infoTorn, initial: .int(0)).verdict == .invalid)
        #expect(try Self.check(MultiRegisterFixtures.infoNeverSeen, initial: .int(0)).verdict == .valid)
        #expect(try Self.check(MultiRegisterFixtures.infoNeverSeen).verdict == .invalid)
    }

    @Test func keysThatNoTxnLinksAreCheckedApart() throws {
        let r = try Self.check(MultiRegisterFixtures.twoComponents, initial: .int(0))
        #expect(r.verdict == .invalid)
        #expect(r.details["keys"] == .int(2))
        #expect(r.details["invalid_keys"] == .list([.string("z")]))
    }

    @Test func partitionsAreTheConnectedComponentsOfTheKeys() throws {
        var b = HistoryBuilder()
        b.op(0, "txn", "", .list([.list([.string("write"), .string("a"), .int(1)]), .list([.string("write"), .string("b"), .int(1)])]), 0, 5)
        b.op(1, "txn", "", .list([.list([.string("read"), .string("c"), .null]), .list([.string("write"), .string("b"), .int(2)])]), 0, 5,
             output: .list([.list([.string("read"), .string("c"), .null]), .list([.string("write"), .string("b"), .int(2)])]))
        b.op(2, "write", "d", .int(1), 0, 5)
        b.op(3, "read", "a", .null, 6, 7, output: .int(1))
        b.op(4, "txn", "", .list([]), 8, 9)
        let parts = KeyComponents.partition(try b.paired().operations, where: { _ in true })
        let byName = Dictionary(uniqueKeysWithValues: parts.map { ($0.name, $0) })
        #expect(Set(byName.keys) == ["a,b,c", "d"])
        #expect(byName["a,b,c"]!.keys == ["a", "b", "c"])
        #expect(byName["a,b,c"]!.operations.count == 3)  // the empty txn touches nothing
        #expect(byName["d"]!.operations.count == 1)
    }

    @Test func singleKeyHistoriesKeepOnePartitionPerKey() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "a", .int(1), 0, 5)
        b.op(1, "write", "b", .int(1), 0, 5)
        b.op(2, "read", "a", .null, 6, 7, output: .int(1))
        let parts = KeyComponents.partition(try b.paired().operations, where: { _ in true })
        #expect(parts.map(\.name).sorted() == ["a", "b"])
        let r = LinearizabilityChecker.check(try b.paired().operations)
        #expect(r.keys.map(\.model) == [.register, .register])
        #expect(r.keys.map(\.method) == ["zones", "zones"])
    }

    @Test func plainOperationsJoinATxnsPartition() throws {
        // A plain write of x and a cas on y share the partition of the txn that reads both.
        var b = HistoryBuilder()
        b.op(0, "write", "x", .int(1), 0, 5)
        b.op(1, "cas", "y", .cas(0, 4), 6, 8)
        b.op(2, "txn", "", .list([.list([.string("read"), .string("x"), .null]), .list([.string("read"), .string("y"), .null])]), 9, 12,
             output: .list([.list([.string("read"), .string("x"), .int(1)]), .list([.string("read"), .string("y"), .int(4)])]))
        let ops = try b.paired().operations
        let ok = LinearizabilityChecker.check(ops, settings: ModelSettings(initialValue: .int(0)))
        #expect(ok.verdict == .valid)
        #expect(ok.keys.map(\.model) == [.multiRegister])
        // From absent the cas from 0 cannot succeed.
        #expect(LinearizabilityChecker.check(ops).verdict == .invalid)
    }
}

/// The model's step function on its own.
@Suite struct MultiRegisterModelTests {
    static func txn(_ steps: [(String, String, HistoryValue)]) -> HistoryValue {
        .list(steps.map { .list([.string($0.0), .string($0.1), $0.2]) })
    }

    static func op(_ id: Int, _ steps: [(String, String, HistoryValue)], status: OpStatus = .ok) -> HistoryOperation {
        HistoryOperation(
            id: id, process: .client(Int64(id)), f: .txn, key: "", input: txn(steps.map { ($0.0, $0.1, $0.0 == "read" ? .null : $0.2) }),
            output: status == .ok ? txn(steps) : .null, status: status, invokeTime: Int64(id * 10), completeTime: status == .ok ? Int64(id * 10 + 5) : nil)
    }

    @Test func stepsApplyInOrderAtomically() throws {
        let ops = [
            Self.op(0, [("write", "x", .int(1)), ("read", "x", .int(1)), ("write", "y", .int(2))]),
            Self.op(1, [("read", "x", .int(1)), ("read", "y", .int(2))]),
            Self.op(2, [("read", "x", .int(1)), ("read", "y", .int(0))]),
        ]
        let (model, calls) = try MultiRegisterModel.compile(ops, ModelSettings(initialValue: .int(0)))
        #expect(model.keys == ["x", "y"])
        #expect(model.describe(state: model.initialState) == "x=0, y=0")
        let s1 = try #require(model.step(model.initialState, calls[0].input, calls[0].output))
        #expect(model.describe(state: s1) == "x=1, y=2")
        #expect(model.step(s1, calls[1].input, calls[1].output) == s1)
        #expect(model.isReadOnly(calls[1].input, calls[1].output))
        #expect(!model.isReadOnly(calls[0].input, calls[0].output))
        // A torn read is refused; so is the first txn's own read when x is not what it wrote.
        #expect(model.step(s1, calls[2].input, calls[2].output) == nil)
        #expect(model.step(model.initialState, calls[1].input, calls[1].output) == nil)
    }

    @Test func aCrashedTxnAppliesItsWritesAndChecksNoRead() throws {
        let ops = [Self.op(0, [("read", "x", .int(9)), ("write", "y", .int(3))], status: .info)]
        let (model, calls) = try MultiRegisterModel.compile(ops)
        #expect(calls[0].output == .unknown)
        let s = try #require(model.step(model.initialState, calls[0].input, calls[0].output))
        #expect(model.describe(state: s) == "x=absent, y=3")
    }

    @Test func nullReadsAreAbsentOrUnknownAsTheFormatSays() throws {
        let ops = [Self.op(0, [("read", "x", .null)])]
        let absent = try MultiRegisterModel.compile(ops, ModelSettings(initialValue: .int(0)))
        #expect(absent.model.step(absent.model.initialState, absent.calls[0].input, absent.calls[0].output) == nil)
        let unknown = try MultiRegisterModel.compile(ops, ModelSettings(initialValue: .int(0), nullReads: .unknown))
        #expect(unknown.model.step(unknown.model.initialState, unknown.calls[0].input, unknown.calls[0].output) != nil)
    }

    @Test func aMalformedTxnBuiltInMemoryIsAModelError() {
        let bad = HistoryOperation(
            id: 3, process: .client(0), f: .txn, key: "", input: .list([.int(1)]), output: .null, status: .info, invokeTime: 0, completeTime: nil)
        #expect(throws: ModelError.self) { try MultiRegisterModel.compile([bad]) }
        let r = LinearizabilityChecker.check([bad])
        #expect(r.verdict == .unknown)
        #expect(r.keys.first?.reason?.contains("txn value must be a list") == true)
    }
}


