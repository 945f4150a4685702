import RiftCore
import RiftHistory
@testable import RiftChecker

/// Builds histories in tests: each call adds an invocation and (unless `status` is nil, a crash)
/// its completion.
struct HistoryBuilder {
    var events: [HistoryEvent] = []

    mutating func op(
        _ process: Int64, _ f: String, _ key: String = "k", _ value: HistoryValue = .null, _ invoke: Int64, _ complete: Int64?,
        status: EventType? = .ok, output: HistoryValue? = nil, node: String? = nil, session: String? = nil
    ) {
        events.append(HistoryEvent(type: .invoke, process: .client(process), f: f, key: key, value: f == "read" || f == "get" ? .null : value, time: invoke, session: session))
        if let status, let complete {
            events.append(HistoryEvent(type: status, process: .client(process), f: f, key: key, value: output ?? value, time: complete, node: node, session: session))
        }
    }

    mutating func nemesis(_ f: String, _ time: Int64) {
        events.append(HistoryEvent(type: .info, process: .nemesis, f: f, value: .string(f), time: time))
    }

    /// Events sorted by time (stable), as a recorder would have written them.
    var history: History {
        History(events: events.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element))
    }

    func paired() throws -> PairedHistory { try history.paired() }
}

extension HistoryValue {
    static func cas(_ a: Int64?, _ b: Int64?) -> HistoryValue {
        .list([a.map { .int($0) } ?? .null, b.map { .int($0) } ?? .null])
    }
}

/// The property tests' oracle: the definition of linearizability, searched without pruning.
enum BruteForce {
    /// True if some order of the operations respects real time and `apply` (the object's
    /// specification, nil when an operation cannot happen in a state): every `ok` operation
    /// placed, `info` ones optionally, `fail` ones never.
    static func linearizable<State>(
        _ all: [HistoryOperation], from initial: State, _ apply: (HistoryOperation, State) -> State?
    ) -> Bool {
        let ops = all.filter { $0.status != .fail }
        var placed = [Bool](repeating: false, count: ops.count)
        func search(_ state: State, _ remainingOK: Int) -> Bool {
            if remainingOK == 0 { return true }
            for i in ops.indices where !placed[i] {
                // Every ok operation that completed before i was invoked must already be placed.
                let ready = ops.indices.allSatisfy { j in
                    placed[j] || j == i || ops[j].status != .ok || ops[j].completeTime! >= ops[i].invokeTime
                }
                guard ready, let next = apply(ops[i], state) else { continue }
                placed[i] = true
                let found = search(next, remainingOK - (ops[i].status == .ok ? 1 : 0))
                placed[i] = false
                if found { return true }
            }
            return false
        }
        return search(initial, ops.filter { $0.status == .ok }.count)
    }
}

extension HistoryBuilder {
    /// A random history of integer registers, for property tests against direct definitions: 4
    /// processes with up to `maxOpsPerProcess - 1` operations each on keys k0 and k1,
    /// overlapping; written values grow per key in invocation order (sometimes repeating), reads
    /// return any of the first five values. With `nodes`, even processes read on n1 and odd ones
    /// on n2 (writes on n1); the generator draws the same numbers either way.
    static func randomIntegerHistory(_ rng: inout SeededRandom, maxOpsPerProcess: UInt64, nodes: Bool = false) -> HistoryBuilder {
        var planned: [(p: Int64, key: String, write: Bool, t: Int64, d: Int64, read: Int64)] = []
        for p in 0..<4 {
            var t = Int64(rng.next() % 10)
            for _ in 0..<Int(rng.next() % maxOpsPerProcess) {
                let d = 1 + Int64(rng.next() % 15)
                planned.append((Int64(p), "k\(rng.next() % 2)", rng.next() % 2 == 0, t, d, Int64(rng.next() % 5)))
                t += d + 1 + Int64(rng.next() % 5)
            }
        }
        var counter: [String: Int64] = [:]
        var b = HistoryBuilder()
        for op in planned.sorted(by: { $0.t < $1.t }) {
            if op.write {
                counter[op.key, default: 0] += rng.next() % 3 == 0 ? 0 : 1
                b.op(op.p, "write", op.key, .int(counter[op.key]!), op.t, op.t + op.d, node: nodes ? "n1" : nil)
            } else {
                b.op(op.p, "read", op.key, .null, op.t, op.t + op.d, output: .int(op.read), node: nodes ? (op.p % 2 == 0 ? "n1" : "n2") : nil)
            }
        }
        return b
    }
}
