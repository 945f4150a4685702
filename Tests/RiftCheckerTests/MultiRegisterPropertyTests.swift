import RiftCore
import RiftHistory
import Testing
@testable import RiftChecker

/// Random small multi-register histories: the checker (connected-keys partitions, each searched
/// with the multi-register model) against a brute-force search of the whole history as one
/// object, with the registers in a dictionary.
@Suite struct MultiRegisterPropertyTests {
    /// The whole history's state after `op`, straight from the definition; nil when `op` cannot
    /// happen there. A txn completed ok checks what it read; one with an unknown outcome applies
    /// its writes only.
    static func apply(_ op: HistoryOperation, _ state: [String: HistoryValue]) -> [String: HistoryValue]? {
        var s = state
        let known = op.status == .ok
        switch op.f {
        case .txn:
            guard case .list(let steps) = known ? op.output : op.input else { return nil }
            for step in steps {
                guard case .list(let p) = step, case .string(let f) = p[0], case .string(let k) = p[1] else { return nil }
                if f == "write" { s[k] = p[2] } else if known, (s[k] ?? .null) != p[2] { return nil }
            }
        case .write: s[op.key] = op.input
        case .read: if known, (s[op.key] ?? .null) != op.output { return nil }
        default: return nil
        }
        return s
    }

    /// True if some order of all operations respects real time and the registers: every ok
    /// operation placed, info ones optionally.
    static func oracle(_ ops: [HistoryOperation], initial: HistoryValue, keys: [String]) -> Bool {
        var start: [String: HistoryValue] = [:]
        for k in keys { start[k] = initial }
        return BruteForce.linearizable(ops, from: start, apply)
    }

    static func step(_ f: String, _ k: String, _ v: HistoryValue) -> HistoryValue { .list([.string(f), .string(k), v]) }

    /// Operations (mostly txns over one or two of the keys) take effect at a random point of
    /// their interval on simulated registers; some reads are then corrupted, some operations
    /// fail or end as info.
    static func randomHistory(_ rng: inout SeededRandom, keys: [String], initial: HistoryValue, count: Int) -> History {
        struct Planned { var invoke: Int64; var complete: Int64; var point: Int64; var f: String; var key: String; var steps: [(f: String, key: String, value: HistoryValue)] }
        var planned: [Planned] = []
        for _ in 0..<count {
            let invoke = Int64(rng.next() % 40)
            let complete = invoke + 1 + Int64(rng.next() % 20)
            let point = invoke + Int64(rng.next() % UInt64(complete - invoke + 1))
            let kind = rng.next() % 6
            if kind == 0 {
                planned.append(Planned(invoke: invoke, complete: complete, point: point, f: "write", key: keys[Int(rng.next() % UInt64(keys.count))], steps: []))
                planned[planned.count - 1].steps = [("write", planned[planned.count - 1].key, .int(Int64(rng.next() % 3)))]
            } else if kind == 1 {
                planned.append(Planned(invoke: invoke, complete: complete, point: point, f: "read", key: keys[Int(rng.next() % UInt64(keys.count))], steps: []))
            } else {
                var steps: [(f: String, key: String, value: HistoryValue)] = []
                for _ in 0..<(1 + Int(rng.next() % 2)) {
                    let k = keys[Int(rng.next() % UInt64(keys.count))]
                    steps.append(rng.next() % 2 == 0 ? ("read", k, .null) : ("write", k, .int(Int64(rng.next() % 3))))
                }
                planned.append(Planned(invoke: invoke, complete: complete, point: point, f: "txn", key: "", steps: steps))
            }
        }
        var state: [String: HistoryValue] = [:]
        for k in keys { state[k] = initial }
        var results: [Int: (EventType, HistoryValue)] = [:]
        func corrupt(_ v: HistoryValue) -> HistoryValue {
            rng.next() % 5 == 0 ? (rng.next() % 3 == 0 ? .null : .int(Int64(rng.next() % 3))) : v
        }
        for i in planned.indices.sorted(by: { planned[$0].point < planned[$1].point }) {
            let p = planned[i]
            let fate = rng.next() % 10  // 0: fails (no effect), 1: info with effect, 2: info without
            let isRead = p.f == "read"
            if fate == 0, !isRead { results[i] = (.fail, p.f == "txn" ? .list(p.steps.map { step($0.f, $0.key, $0.value) }) : p.steps[0].value); continue }
            if fate == 2, !isRead { results[i] = (.info, .null); continue }
            let type: EventType = fate == 1 && !isRead ? .info : .ok
            switch p.f {
            case "read": results[i] = (.ok, corrupt(state[p.key]!))
            case "write": state[p.key] = p.steps[0].value; results[i] = (type, p.steps[0].value)
            default:
                var out: [HistoryValue] = []
                for s in p.steps {
                    if s.f == "write" { state[s.key] = s.value; out.append(step("write", s.key, s.value)) } else { out.append(step("read", s.key, corrupt(state[s.key]!))) }
                }
                results[i] = (type, .list(out))
            }
        }
        var events: [(time: Int64, order: Int, event: HistoryEvent)] = []
        var order = 0
        var processFreeAt: [Int64: Int64] = [:]
        var nextProcess: Int64 = 0
        for (i, p) in planned.enumerated() {
            let process = processFreeAt.first(where: { $0.value < p.invoke })?.key ?? { nextProcess += 1; return nextProcess }()
            processFreeAt[process] = p.complete
            let input: HistoryValue
            switch p.f {
            case "read": input = .null
            case "write": input = p.steps[0].value
            default: input = .list(p.steps.map { step($0.f, $0.key, $0.f == "read" ? .null : $0.value) })
            }
            let (type, out) = results[i]!
            events.append((p.invoke, order, HistoryEvent(type: .invoke, process: .client(process), f: p.f, key: p.f == "txn" ? nil : p.key, value: input, time: p.invoke)))
            order += 1
            events.append((p.complete, order, HistoryEvent(type: type, process: .client(process), f: p.f, key: p.f == "txn" ? nil : p.key, value: out, time: p.complete)))
            order += 1
        }
        return History(events: events.sorted { ($0.time, $0.order) < ($1.time, $1.order) }.map(\.event))
    }

    @Test(arguments: 0..<4)
    func partitionedCheckAgreesWithTheWholeHistoryBruteForce(batch: Int) throws {
        var rng = SeededRandom(seed: 20_261_203, labels: "multi-register", String(batch))
        var valid = 0, invalid = 0, multiKeyPartitions = 0, severalPartitions = 0
        for caseIndex in 0..<60 {
            let keys = Array(["x", "y", "z", "w"].prefix(2 + Int(rng.next() % 3)))
            let initial: HistoryValue = rng.next() % 2 == 0 ? .null : .int(0)
            let history = Self.randomHistory(&rng, keys: keys, initial: initial, count: 4 + Int(rng.next() % 4))
            let ops = try history.paired().operations
            let result = LinearizabilityChecker.check(ops, stopAtFirstInvalid: false, settings: ModelSettings(initialValue: initial))
            let expected = Self.oracle(ops, initial: initial, keys: keys)
            #expect(result.verdict == (expected ? .valid : .invalid), "batch \(batch) case \(caseIndex)")
            if expected { valid += 1 } else { invalid += 1 }
            if result.keys.contains(where: { $0.keys.count > 1 }) { multiKeyPartitions += 1 }
            if result.keys.count > 1 { severalPartitions += 1 }
        }
        // The generator must exercise both outcomes, linked keys and separate partitions.
        #expect(valid > 10)
        #expect(invalid > 10)
        #expect(multiKeyPartitions > 10)
        #expect(severalPartitions > 5)
    }
}
