import RiftClient

/// A blocking client of the origin's protocol (`OriginRequest`), with a deadline per request,
/// on the same `ClientConnection` as the RESP and memcached clients. One request in flight;
/// not thread-safe.
public final class OriginConnection {
    private let connection: ClientConnection
    public var port: UInt16 { connection.port }

    public init(port: UInt16) { connection = .reconnecting(port: port) }

    public func close() { connection.close() }

    /// Sends `command` and reads the reply with `read`; any failure closes the connection.
    private func exchange<T>(_ command: String, deadlineNs: Int64, _ read: () throws(ClientError) -> T) throws(ClientError) -> T {
        try connection.exchange { () throws(ClientError) -> T in
            try connection.send(deadlineNs: deadlineNs) { $0.writeString(command) }
            return try read()
        }
    }

    /// (version, value); version 0 and nil when the origin has no such key.
    public func get(_ key: String, deadlineNs: Int64) throws(ClientError) -> (version: Int64, value: String?) {
        try exchange("GET \(key)\r\n", deadlineNs: deadlineNs) { () throws(ClientError) -> (Int64, String?) in
            let line = try connection.line(deadlineNs: deadlineNs)
            if line == "NONE" { return (0, nil) }
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "VALUE", let v = Int64(parts[1]), let n = Int(parts[2]), n >= 0, n <= OriginLimits.maxValueBytes else {
                throw .protocolError("unexpected reply to GET: \(line.prefix(80))")
            }
            return (v, try connection.exact(n, deadlineNs: deadlineNs))
        }
    }

    public enum SetOutcome: Equatable, Sendable {
        case stored(version: Int64)
        /// The origin holds `current`, not older than the version sent: nothing was written.
        case stale(current: Int64)
        case refused(String)
    }

    /// Writes `value`; with `version`, only when it is newer than the origin's.
    public func set(_ key: String, _ value: String, version: Int64?, deadlineNs: Int64) throws(ClientError) -> SetOutcome {
        let head = "SET \(key) \(value.utf8.count)" + (version.map { " \($0)" } ?? "")
        return try exchange(head + "\r\n\(value)\r\n", deadlineNs: deadlineNs) { () throws(ClientError) -> SetOutcome in
            let line = try connection.line(deadlineNs: deadlineNs)
            let parts = line.split(separator: " ", maxSplits: 1)
            switch parts.first {
            case "OK"?: if parts.count == 2, let v = Int64(parts[1]) { return .stored(version: v) }
            case "STALE"?: if parts.count == 2, let v = Int64(parts[1]) { return .stale(current: v) }
            case "ERROR"?: return .refused(parts.count == 2 ? String(parts[1]) : "")
            default: break
            }
            throw .protocolError("unexpected reply to SET: \(line.prefix(80))")
        }
    }

    /// (in flight, peak) without service time: for tests and probes.
    public func gauge(deadlineNs: Int64) throws(ClientError) -> (inFlight: Int, peak: Int) {
        try exchange("GAUGE\r\n", deadlineNs: deadlineNs) { () throws(ClientError) -> (Int, Int) in
            let line = try connection.line(deadlineNs: deadlineNs)
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "GAUGE", let n = Int(parts[1]), let p = Int(parts[2]) else {
                throw .protocolError("unexpected reply to GAUGE: \(line.prefix(80))")
            }
            return (n, p)
        }
    }
}
