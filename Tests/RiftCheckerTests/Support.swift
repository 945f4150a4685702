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
