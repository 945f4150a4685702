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
