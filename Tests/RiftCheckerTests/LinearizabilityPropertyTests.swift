import RiftCore
import RiftHistory
import Testing
@testable import RiftChecker

/// Random small histories checked against a brute-force oracle that enumerates every
/// linearization. Seeded, so a failure names a reproducible case.
@Suite struct LinearizabilityPropertyTests {
    /// Register semantics written directly from the definition, independent of the checker's
    /// model: nil = absent.
    static func apply(_ op: HistoryOperation, _ state: HistoryValue) -> HistoryValue? {
        let known = op.status == .ok
        switch op.f {
        case .read: return !known || op.output == state ? state : nil
        case .write: return op.input
        case .delete: return .null
        case .cas:
            guard case .list(let p) = op.input else { return nil }
            if !known { return state == p[0] ? p[1] : state }
            if op.output == .bool(false) { return state != p[0] ? state : nil }
            return state == p[0] ? p[1] : nil
        case .get, .put, .append, .txn, .add: return nil
        }
    }

    /// True if some order of the operations respects real time and the register: every `ok`
    /// operation placed, `info` ones optionally (at any point after their invocation).
    static func oracle(_ ops: [HistoryOperation]) -> Bool {
        BruteForce.linearizable(ops, from: HistoryValue.null, apply)
    }

    /// A random history: operations on a simulated register take effect at a random point in
    /// their interval; some reads are then corrupted, some operations fail or end as info.
    static func randomHistory(_ rng: inout SeededRandom, keys: Int, opsPerKey: Int) -> History {
        var events: [(time: Int64, order: Int, event: HistoryEvent)] = []
        var order = 0
        var nextProcess: Int64 = 0
        var processFreeAt: [Int64: Int64] = [:]
        for k in 0..<keys {
            let key = "k\(k)"
            let n = 1 + Int(rng.next() % UInt64(opsPerKey))
            var planned: [(invoke: Int64, complete: Int64, point: Int64, f: String, value: HistoryValue)] = []
            for _ in 0..<n {
                let invoke = Int64(rng.next() % 60)
                let complete = invoke + 1 + Int64(rng.next() % 25)
                let point = invoke + Int64(rng.next() % UInt64(complete - invoke + 1))
                let f = ["read", "read", "write", "write", "cas", "delete"][Int(rng.next() % 6)]
                let v = Int64(rng.next() % 3)
                let value: HistoryValue = f == "cas" ? .cas(rng.next() % 3 == 0 ? nil : Int64(rng.next() % 3), v) : (f == "write" ? .int(v) : .null)
                planned.append((invoke, complete, point, f, value))
            }
            // Simulate in linearization-point order.
            var state: HistoryValue = .null
            var results: [Int: (EventType, HistoryValue)] = [:]
            for i in planned.indices.sorted(by: { planned[$0].point < planned[$1].point }) {
                let p = planned[i]
                let fate = rng.next() % 10  // 0: fails (no effect), 1: info with effect, 2: info without
                if fate == 0, p.f != "read" { results[i] = (.fail, p.value); continue }
                if fate == 2, p.f != "read" { results[i] = (.info, p.value); continue }
                switch p.f {
                case "read":
                    var seen = state
                    if rng.next() % 4 == 0 { seen = rng.next() % 4 == 0 ? .null : .int(Int64(rng.next() % 3)) }
                    results[i] = (.ok, seen)
                case "write": state = p.value; results[i] = (fate == 1 ? .info : .ok, p.value)
                case "delete": state = .null; results[i] = (fate == 1 ? .info : .ok, .null)
                default:
                    guard case .list(let pair) = p.value else { fatalError() }
                    if state == pair[0] {
                        state = pair[1]
                        results[i] = (fate == 1 ? .info : .ok, p.value)
                    } else {
                        // Jepsen's fail, or Porcupine's "ran and compared false".
                        results[i] = rng.next() % 2 == 0 ? (.fail, p.value) : (.ok, .bool(false))
                    }
                }
            }
            for (i, p) in planned.enumerated() {
                // A process free at the invocation, else a new one.
                let process = processFreeAt.first(where: { $0.value < p.invoke })?.key ?? { nextProcess += 1; return nextProcess }()
                processFreeAt[process] = p.complete
                let (type, out) = results[i]!
                events.append((p.invoke, order, HistoryEvent(type: .invoke, process: .client(process), f: p.f, key: key, value: p.value, time: p.invoke)))
                order += 1
                events.append((p.complete, order, HistoryEvent(type: type, process: .client(process), f: p.f, key: key, value: out, time: p.complete)))
                order += 1
            }
        }
        // Same-time events: completions of earlier invocations keep their order.
        let sorted = events.sorted { ($0.time, $0.order) < ($1.time, $1.order) }.map(\.event)
        return History(events: sorted)
    }

    @Test(arguments: 0..<6)
    func agreesWithTheBruteForceOracle(batch: Int) throws {
        var rng = SeededRandom(seed: 20_261_127, labels: "linearizability", String(batch))
        var valid = 0, invalid = 0
        for caseIndex in 0..<60 {
            let history = Self.randomHistory(&rng, keys: 1 + Int(rng.next() % 3), opsPerKey: 8)
            let paired = try history.paired()
            let result = LinearizabilityChecker.check(paired.operations, stopAtFirstInvalid: false)
            var byKey: [String: [HistoryOperation]] = [:]
            for op in paired.operations { byKey[op.key, default: []].append(op) }
            for (key, ops) in byKey {
                let expected = Self.oracle(ops)
                let got = result.keys.first { $0.key == key }?.verdict ?? .valid
                #expect(got == (expected ? .valid : .invalid), "batch \(batch) case \(caseIndex) key \(key)")
                if expected { valid += 1 } else { invalid += 1 }
            }
        }
        // The generator must exercise both outcomes.
        #expect(valid > 10)
        #expect(invalid > 10)
    }
}

@Suite struct UniqueWritesPropertyTests {
    /// Reads and writes of unique values, some reads corrupted; ties in time are common.
    static func randomHistory(_ rng: inout SeededRandom) -> [HistoryOperation] {
        let n = 2 + Int(rng.next() % 8)
        var planned: [(invoke: Int64, complete: Int64, point: Int64, write: Bool)] = []
        for _ in 0..<n {
            let invoke = Int64(rng.next() % 30)
            let complete = invoke + Int64(rng.next() % 12)
            planned.append((invoke, complete, invoke + Int64(rng.next() % UInt64(complete - invoke + 1)), rng.next() % 2 == 0))
        }
        var state: HistoryValue = .null
        var next: Int64 = 1
        var ops: [HistoryOperation] = []
        for i in planned.indices.sorted(by: { planned[$0].point < planned[$1].point }) {
            let p = planned[i]
            if p.write {
                state = .int(next)
                ops.append(HistoryOperation(id: 0, process: .client(Int64(i)), f: .write, key: "k", input: .int(next), output: .int(next), status: .ok, invokeTime: p.invoke, completeTime: p.complete))
                next += 1
            } else {
                var seen = state
                if rng.next() % 3 == 0 { seen = rng.next() % 3 == 0 ? .null : .int(1 + Int64(rng.next() % 4)) }
                ops.append(HistoryOperation(id: 0, process: .client(Int64(i)), f: .read, key: "k", input: .null, output: seen, status: .ok, invokeTime: p.invoke, completeTime: p.complete))
            }
        }
        ops.sort { $0.invokeTime < $1.invokeTime }
        for i in ops.indices { ops[i].id = i }
        return ops
    }

    @Test func zonesAgreeWithTheBruteForceOracle() {
        var rng = SeededRandom(seed: 99, labels: "zones")
        var valid = 0, invalid = 0
        for caseIndex in 0..<1500 {
            let ops = Self.randomHistory(&rng)
            guard let outcome = UniqueWritesChecker.check(ops) else {
                Issue.record("case \(caseIndex): zones should apply to unique reads and writes")
                continue
            }
            let expected = LinearizabilityPropertyTests.oracle(ops)
            #expect((outcome == .linearizable) == expected, "case \(caseIndex)")
            if expected { valid += 1 } else { invalid += 1 }
        }
        #expect(valid > 100)
        #expect(invalid > 100)
    }

    @Test func zonesDeclineWhatTheyCannotDecide() {
        let w = HistoryOperation(id: 0, process: .client(0), f: .write, key: "k", input: .int(1), output: .int(1), status: .ok, invokeTime: 0, completeTime: 1)
        var again = w
        again.id = 1
        #expect(UniqueWritesChecker.check([w, again]) == nil)
        var info = w
        info.status = .info
        #expect(UniqueWritesChecker.check([info]) == nil)
        var cas = w
        cas.f = .cas
        #expect(UniqueWritesChecker.check([cas]) == nil)
    }
}
