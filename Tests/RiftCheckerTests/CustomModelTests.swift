import RiftHistory
import Testing
@testable import RiftChecker

/// A counter register that starts at 0: reads of null mean 0. Shows a model slotting in.
struct ZeroRegister: Model {
    enum Input: Sendable { case read, write(Int64) }
    enum Output: Sendable { case value(Int64), unknown }

    var initialState: Int64 { 0 }

    func step(_ state: Int64, _ input: Input, _ output: Output) -> Int64? {
        switch (input, output) {
        case (.read, .value(let v)): v == state ? state : nil
        case (.read, .unknown): state
        case (.write(let v), _): v
        }
    }

    func describe(state: Int64) -> String { String(state) }

    static func compile(_ operations: [HistoryOperation]) throws(ModelError) -> (model: ZeroRegister, calls: [(input: Input, output: Output)]) {
        var calls: [(input: Input, output: Output)] = []
        for op in operations {
            switch op.f {
            case .read: calls.append((.read, op.status == .ok ? .value(op.output.intValue ?? 0) : .unknown))
            case .write:
                guard let v = op.input.intValue else { throw ModelError(operation: op.id, reason: "integers only") }
                calls.append((.write(v), .unknown))
            default: throw ModelError(operation: op.id, reason: "\(op.f.rawValue) is not a counter operation")
            }
        }
        return (ZeroRegister(), calls)
    }
}

@Suite struct CustomModelTests {
    @Test func aModelOfYourOwnSlotsIntoTheSearch() throws {
        var b = HistoryBuilder()
        b.op(0, "read", "k", .null, 0, 10, output: .int(0))
        b.op(0, "write", "k", .int(4), 11, 20)
        b.op(1, "read", "k", .null, 21, 30, output: .int(4))
        let ops = try b.paired().operations
        // The built-in register starts absent, so reading 0 first is not linearizable there.
        #expect(LinearizabilityChecker.check(ops).verdict == .invalid)
        let r = LinearizabilityChecker.check(ops, model: ZeroRegister.self)
        #expect(r.verdict == .valid)
        #expect(r.keys[0].model == .custom)

        var bad = b
        bad.op(2, "read", "k", .null, 40, 50, output: .int(0))
        let badResult = LinearizabilityChecker.check(try bad.paired().operations, model: ZeroRegister.self)
        #expect(badResult.verdict == .invalid)
        #expect(badResult.keys[0].prefixState == "4")
    }

    @Test func aModelRejectingAnOperationMakesTheKeyUnknown() throws {
        var b = HistoryBuilder()
        b.op(0, "cas", "k", .cas(0, 1), 0, 10)
        let r = LinearizabilityChecker.check(try b.paired().operations, model: ZeroRegister.self)
        #expect(r.verdict == .unknown)
        #expect(r.keys[0].reason == "cas is not a counter operation")
    }
}
