/// A blocking memcached text-protocol client (`set`, `add`, `get`, `delete`, `version`) with a deadline per request,
/// as `RESPConnection` is for Redis. One request in flight; not thread-safe.
public final class MemcachedConnection {
    private let socket: DeadlineSocket
    public var port: UInt16 { socket.port }

    public init(port: UInt16) { socket = DeadlineSocket(port: port) }

    public func close() { socket.close() }

    private func exchange<T>(_ command: String, deadlineNs: Int64, _ read: () throws(RESPFailure) -> T) throws(RESPFailure) -> T {
        try socket.exchange(command, deadlineNs: deadlineNs, read)
    }

    /// True when stored; false when the server answered with an error (it did not store).
    /// `ttlSeconds` 0: no expiry.
    public func set(_ key: String, _ value: String, ttlSeconds: Int = 0, deadlineNs: Int64) throws(RESPFailure) -> Bool {
        let line = try store("set", key, value, ttlSeconds: ttlSeconds, deadlineNs: deadlineNs)
        return line == "STORED"
    }

    /// `add` (store only when the key is absent): true when stored, false when the key was
    /// there already; an error line throws, as it means the server refused.
    public func add(_ key: String, _ value: String, ttlSeconds: Int = 0, deadlineNs: Int64) throws(RESPFailure) -> Bool {
        let line = try store("add", key, value, ttlSeconds: ttlSeconds, deadlineNs: deadlineNs)
        if line == "STORED" || line == "NOT_STORED" { return line == "STORED" }
        throw .protocolError("add refused: \(line)")
    }

    /// A storage command's reply line: STORED, NOT_STORED or an error line.
    private func store(_ verb: String, _ key: String, _ value: String, ttlSeconds: Int, deadlineNs: Int64) throws(RESPFailure) -> String {
        try exchange("\(verb) \(key) 0 \(ttlSeconds) \(value.utf8.count)\r\n\(value)\r\n", deadlineNs: deadlineNs) { () throws(RESPFailure) -> String in
            let line = try socket.line(deadlineNs: deadlineNs)
            if line == "STORED" || line == "NOT_STORED" || line.hasPrefix("SERVER_ERROR") || line.hasPrefix("CLIENT_ERROR") || line == "ERROR" { return line }
            throw .protocolError("unexpected reply to \(verb): \(line)")
        }
    }

    /// The value, or nil when the key is absent.
    public func get(_ key: String, deadlineNs: Int64) throws(RESPFailure) -> String? {
        try exchange("get \(key)\r\n", deadlineNs: deadlineNs) { () throws(RESPFailure) -> String? in
            var value: String?
            while true {
                let line = try socket.line(deadlineNs: deadlineNs)
                if line == "END" { return value }
                let parts = line.split(separator: " ")
                guard parts.count >= 4, parts[0] == "VALUE", let n = Int(parts[3]), n >= 0, n < 1 << 20 else {
                    throw .protocolError("unexpected reply to get: \(line)")
                }
                value = try socket.exact(n, deadlineNs: deadlineNs)
            }
        }
    }

    /// True when the key was there and is gone; false when it was absent.
    public func delete(_ key: String, deadlineNs: Int64) throws(RESPFailure) -> Bool {
        try exchange("delete \(key)\r\n", deadlineNs: deadlineNs) { () throws(RESPFailure) -> Bool in
            let line = try socket.line(deadlineNs: deadlineNs)
            if line == "DELETED" { return true }
            if line == "NOT_FOUND" { return false }
            throw .protocolError("unexpected reply to delete: \(line)")
        }
    }

    public func version(deadlineNs: Int64) throws(RESPFailure) -> String {
        try exchange("version\r\n", deadlineNs: deadlineNs) { () throws(RESPFailure) -> String in
            let line = try socket.line(deadlineNs: deadlineNs)
            guard line.hasPrefix("VERSION ") else { throw .protocolError("unexpected reply to version: \(line)") }
            return String(line.dropFirst(8))
        }
    }
}
