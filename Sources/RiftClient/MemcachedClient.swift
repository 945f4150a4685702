import NIOCore
import RiftWire

/// The blocking memcached text-protocol client of the harness's pools and of the tests.
/// Requests are written by `MemcachedRequest`, replies read by `MemcachedReplyDecoder`; values
/// are raw bytes (length-framed, so they may hold CRLF).
///
/// Every call takes an optional deadline on the monotonic clock (`RiftClock`); without one it
/// uses the connection's timeout from the moment it starts. One request in flight at a time
/// (or one pipeline of gets); owned by one thread at a time.
///
/// A cache-client protocol sits directly on this: `get`, `set`, `add`, `delete` and `cas`
/// are the operations, each one request with its typed outcome; routing (a ketama ring)
/// picks the `MemcachedClient` per node.
public final class MemcachedClient: BlockingClient {
    public let connection: ClientConnection
    private var replies = ReplyStream<MemcachedReplyDecoder>()

    public init(connection: ClientConnection) {
        self.connection = connection
    }

    // MARK: Requests

    /// Sends `request` and reads its reply (any reply: error lines are values here).
    public func request(_ request: MemcachedRequest, deadlineNs: Int64? = nil) throws(ClientError) -> MemcachedReply {
        let deadline = deadlineNs ?? connection.defaultDeadline()
        return try connection.exchange { () throws(ClientError) -> MemcachedReply in
            try send([request], deadlineNs: deadline)
            return try readReply(deadlineNs: deadline)
        }
    }

    /// `set`: true on STORED, false on NOT_STORED. `exptime` is memcached's: seconds up to 30
    /// days, else a Unix time; 0 never expires.
    @discardableResult
    public func set(_ key: String, value: [UInt8], flags: UInt32 = 0, exptime: Int = 0, deadlineNs: Int64? = nil) throws(ClientError) -> Bool {
        try stored(request(.store(.set, key: key, flags: flags, exptime: exptime, value: value), deadlineNs: deadlineNs))
    }

    /// `add` (store only when the key is absent): true when stored, false when it was there.
    public func add(_ key: String, value: [UInt8], flags: UInt32 = 0, exptime: Int = 0, deadlineNs: Int64? = nil) throws(ClientError) -> Bool {
        try stored(request(.store(.add, key: key, flags: flags, exptime: exptime, value: value), deadlineNs: deadlineNs))
    }

    /// What a `cas` did.
    public enum CasOutcome: Equatable, Sendable {
        case stored
        /// Someone wrote the key since `unique` was read.
        case exists
        /// The key is gone.
        case notFound
    }

    /// `cas`: store only if the key still has the CAS unique `unique` (from `getItem(_:cas: true)`).
    public func cas(_ key: String, value: [UInt8], unique: UInt64, flags: UInt32 = 0, exptime: Int = 0, deadlineNs: Int64? = nil) throws(ClientError) -> CasOutcome {
        let reply = try request(.cas(key: key, flags: flags, exptime: exptime, value: value, unique: unique), deadlineNs: deadlineNs)
        switch reply {
        case .stored: return .stored
        case .exists: return .exists
        case .notFound: return .notFound
        default: throw Self.failure(reply)
        }
    }

    /// `get`: the value, or nil on a miss.
    public func get(_ key: String, deadlineNs: Int64? = nil) throws(ClientError) -> [UInt8]? {
        try getItem(key, deadlineNs: deadlineNs)?.value
    }

    /// `get` (or `gets` with `cas: true`) with the stored flags (and CAS unique).
    public func getItem(_ key: String, cas: Bool = false, deadlineNs: Int64? = nil) throws(ClientError) -> MemcachedItem? {
        let reply = try request(.get(keys: [key], cas: cas), deadlineNs: deadlineNs)
        return try Self.item(reply, for: key)
    }

    /// One `get` per key, all written before any reply is read; one result per key, in order.
    /// Replies arriving during the write are kept, so many large values cannot deadlock.
    public func getMany(_ keys: [String], deadlineNs: Int64? = nil) throws(ClientError) -> [[UInt8]?] {
        let deadline = deadlineNs ?? connection.defaultDeadline()
        return try connection.exchange { () throws(ClientError) -> [[UInt8]?] in
            try send(keys.map { .get(keys: [$0]) }, deadlineNs: deadline)
            var results: [[UInt8]?] = []
            results.reserveCapacity(keys.count)
            for key in keys { results.append(try Self.item(try readReply(deadlineNs: deadline), for: key)?.value) }
            return results
        }
    }

    /// `delete`: true on DELETED, false on NOT_FOUND.
    @discardableResult
    public func delete(_ key: String, deadlineNs: Int64? = nil) throws(ClientError) -> Bool {
        let reply = try request(.delete(key: key), deadlineNs: deadlineNs)
        switch reply {
        case .deleted: return true
        case .notFound: return false
        default: throw Self.failure(reply)
        }
    }

    /// `touch`: sets the key's exptime (seconds; 0: none); true on TOUCHED, false on NOT_FOUND.
    @discardableResult
    public func touch(_ key: String, exptime: Int, deadlineNs: Int64? = nil) throws(ClientError) -> Bool {
        let reply = try request(.touch(key: key, exptime: exptime), deadlineNs: deadlineNs)
        switch reply {
        case .touched: return true
        case .notFound: return false
        default: throw Self.failure(reply)
        }
    }

    /// `version`: the server's version string, e.g. "1.6.18".
    public func version(deadlineNs: Int64? = nil) throws(ClientError) -> String {
        let reply = try request(.version, deadlineNs: deadlineNs)
        guard case .version(let text) = reply else { throw Self.failure(reply) }
        return text
    }

    /// `stats`: the general statistics as name → value.
    public func stats(deadlineNs: Int64? = nil) throws(ClientError) -> [String: String] {
        let reply = try request(.stats, deadlineNs: deadlineNs)
        guard case .stats(let stats) = reply else { throw Self.failure(reply) }
        return Dictionary(stats.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    // MARK: Low level

    /// Writes raw protocol bytes, for requests this client does not wrap or deliberately
    /// malformed ones; read answers with `readLine` or `readReply`.
    public func send(raw request: [UInt8]) throws(ClientError) {
        let deadline = connection.defaultDeadline()
        try connection.exchange { () throws(ClientError) in
            try connection.send(deadlineNs: deadline) { $0.writeBytes(request) }
        }
    }

    /// The next reply line, without its CRLF (after `send(raw:)`).
    public func readLine() throws(ClientError) -> String {
        let deadline = connection.defaultDeadline()
        return try connection.exchange { () throws(ClientError) -> String in try connection.line(deadlineNs: deadline) }
    }

    /// The next whole reply.
    public func readReply(deadlineNs: Int64? = nil) throws(ClientError) -> MemcachedReply {
        let deadline = deadlineNs ?? connection.defaultDeadline()
        return try connection.exchange { () throws(ClientError) -> MemcachedReply in
            try replies.read(connection, deadlineNs: deadline)
        }
    }

    private func send(_ requests: [MemcachedRequest], deadlineNs: Int64) throws(ClientError) {
        try connection.send(deadlineNs: deadlineNs) { (buffer: inout ByteBuffer) throws(ClientError) in
            for request in requests {
                do throws(MemcachedRequest.InvalidKey) { try request.encode(into: &buffer) } catch { throw .invalidKey(error.key) }
            }
        }
    }

    private func stored(_ reply: MemcachedReply) throws(ClientError) -> Bool {
        switch reply {
        case .stored: return true
        case .notStored: return false
        default: throw Self.failure(reply)
        }
    }

    private static func item(_ reply: MemcachedReply, for key: String) throws(ClientError) -> MemcachedItem? {
        guard case .values(let items) = reply else { throw failure(reply) }
        guard items.count <= 1 else { throw .unexpectedReply("\(items.count) values for get \(key)") }
        if let item = items.first, item.key != key { throw .unexpectedReply("VALUE \(item.key) for get \(key)") }
        return items.first
    }

    /// An error line is the server's refusal; anything else puts the stream out of step.
    private static func failure(_ reply: MemcachedReply) -> ClientError {
        switch reply {
        case .error: return .serverError("ERROR")
        case .clientError(let m): return .serverError("CLIENT_ERROR \(m)")
        case .serverError(let m): return .serverError("SERVER_ERROR \(m)")
        default: return .unexpectedReply("\(reply)")
        }
    }
}

@available(*, unavailable)
extension MemcachedClient: Sendable {}
