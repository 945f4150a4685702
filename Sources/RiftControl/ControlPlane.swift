import Foundation
import RiftCore
import RiftFaults
import RiftProxy
import Synchronization

/// The API's operations on a `ProxyServer`, in Toxiproxy's terms, independent of HTTP: every
/// change is checked, carried out, recorded in the event log, and answered as JSON.
///
/// Timed toxics and partitions (`duration_ms`) are undone by a task that sleeps on the
/// continuous clock; a later change to the same toxic or partition cancels it.
public final class ControlPlane: Sendable {
    public let server: ProxyServer
    public let events: EventLog
    let timers = Mutex(Timers())

    struct Timers {
        /// Keyed by `toxic:<proxy>/<toxic>` or `partition:<id>`.
        var tasks: [String: (generation: UInt64, deadlineMs: Int64, task: Task<Void, Never>)] = [:]
        var nextGeneration: UInt64 = 1
    }

    public init(server: ProxyServer, events: EventLog) {
        self.server = server
        self.events = events
    }

    // MARK: - JSON

    public func proxyJSON(_ proxy: Proxy) -> JSONValue {
        let s = proxy.snapshot
        var o: [String: JSONValue] = [
            "name": .string(s.config.name), "listen": .string(s.listen), "upstream": .string(s.config.upstream),
            "enabled": .bool(s.config.enabled),
            "toxics": .array(Self.ordered(s.faults).map { toxicJSON(s.config.name, $0) }),
        ]
        if let from = s.config.from { o["from"] = .string(from) }
        if let to = s.config.to { o["to"] = .string(to) }
        return .object(o)
    }

    func toxicJSON(_ proxyName: String, _ fault: Fault) -> JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(fault.name), "type": .string(fault.type), "stream": .string(fault.stream.rawValue),
            "toxicity": .number(fault.toxicity),
            "attributes": .object(fault.config.attributes.mapValues(\.json)),
        ]
        if let deadline = expiry(Self.toxicKey(proxyName, fault.name)) {
            o["expires_at_ms"] = .number(Double(deadline))
        }
        return .object(o)
    }

    func partitionJSON(_ p: Partition) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(p.id), "groups": .array(p.groups.map { .array($0.map(JSONValue.string)) }),
            "mode": .string(p.mode.rawValue), "one_way": .bool(p.oneWay),
        ]
        if let deadline = expiry("partition:" + p.id) { o["expires_at_ms"] = .number(Double(deadline)) }
        return .object(o)
    }

    // MARK: - Errors

    /// Maps proxy-layer errors to Toxiproxy's statuses and words.
    static func apiError(_ error: Error) -> APIError {
        if let api = error as? APIError { return api }
        guard let p = error as? ProxyError else { return APIError(.internalServerError, "\(error)") }
        switch p {
        case .proxyExists: return APIError(.conflict, "proxy already exists")
        case .proxyNotFound: return APIError(.notFound, "proxy not found")
        case .faultExists: return APIError(.conflict, "toxic already exists")
        case .faultNotFound: return APIError(.notFound, "toxic not found")
        case .partitionNotFound: return APIError(.notFound, "partition not found")
        case .invalidName, .invalidAddress, .invalidFault, .invalidPartition: return APIError(.badRequest, p.description)
        case .listenFailed: return APIError(.internalServerError, p.description)
        case .shutDown: return APIError(.serviceUnavailable, p.description)
        }
    }
}
