/// Why a `MemcachedClient` call failed.
public enum MemcachedClientError: Error, Equatable, Sendable {
    case socket(SocketError)
    /// A key memcached's text protocol cannot carry: empty, over 250 bytes, or containing
    /// spaces or control characters.
    case invalidKey(String)
    /// `ERROR`, `CLIENT_ERROR …` or `SERVER_ERROR …`: the whole line.
    case serverError(String)
    /// A line that does not fit the reply expected at this point: the stream is out of sync.
    case unexpectedReply(String)
}

/// One item from a `get`: the value with the flags it was stored with.
public struct MemcachedItem: Equatable, Sendable {
    public var key: String
    public var flags: UInt32
    public var value: [UInt8]

    public init(key: String, flags: UInt32, value: [UInt8]) {
        self.key = key
        self.flags = flags
        self.value = value
    }
}

/// A minimal synchronous memcached text-protocol client. Values are raw bytes (length-framed
/// on the wire, so they may contain CRLF). Owned by one task at a time.
public final class MemcachedClient {
    public let socket: BlockingSocket
    private var buffer: [UInt8] = []
    private var start = 0
    /// A line longer than this without CRLF means the stream is out of sync.
    private let maxLineLength = 64 * 1024
    /// A VALUE header announcing more than this is treated as a corrupt stream, not allocated.
    public var maxValueLength = 64 * 1024 * 1024

    public init(socket: BlockingSocket) {
        self.socket = socket
    }

    public convenience init(
        port: UInt16,
        connectTimeout: Duration = .seconds(2),
        readTimeout: Duration = .seconds(5)
    ) throws(MemcachedClientError) {
        let socket: BlockingSocket
        do {
            socket = try BlockingSocket(port: port, connectTimeout: connectTimeout, readTimeout: readTimeout)
        } catch {
            throw .socket(error)
        }
        self.init(socket: socket)
    }

    // MARK: Commands

    /// `set`: true on STORED, false on NOT_STORED. `exptime` is memcached's: seconds if up to
    /// 30 days, else a Unix time; 0 never expires.
    @discardableResult
    public func set(_ key: String, value: [UInt8], flags: UInt32 = 0, exptime: Int = 0) throws(MemcachedClientError) -> Bool {
        try Self.validate(key)
        var request = Array("set \(key) \(flags) \(exptime) \(value.count)\r\n".utf8)
        request.append(contentsOf: value)
        request.append(contentsOf: [13, 10])
        try send(request)
        let line = try readLine()
        switch line {
        case "STORED": return true
        case "NOT_STORED": return false
        default: throw Self.failure(line)
        }
    }

    /// `get`: the value, or nil on a miss.
    public func get(_ key: String) throws(MemcachedClientError) -> [UInt8]? {
        try getItem(key)?.value
    }

    /// `get` with the stored flags.
    public func getItem(_ key: String) throws(MemcachedClientError) -> MemcachedItem? {
        try Self.validate(key)
        try send(Array("get \(key)\r\n".utf8))
        return try readGetReply()
    }

    /// One `get` line per key, all written before any reply is read; one result per key, in
    /// order. Replies arriving during the write are buffered, so many large values cannot
    /// deadlock the connection.
    public func getMany(_ keys: [String]) throws(MemcachedClientError) -> [[UInt8]?] {
        for key in keys { try Self.validate(key) }
        try send(keys.flatMap { Array("get \($0)\r\n".utf8) })
        var results: [[UInt8]?] = []
        results.reserveCapacity(keys.count)
        for key in keys {
            let item = try readGetReply()
            if let item, item.key != key { throw .unexpectedReply("VALUE \(item.key) for get \(key)") }
            results.append(item?.value)
        }
        return results
    }

    /// `delete`: true on DELETED, false on NOT_FOUND.
    @discardableResult
    public func delete(_ key: String) throws(MemcachedClientError) -> Bool {
        try Self.validate(key)
        try send(Array("delete \(key)\r\n".utf8))
        let line = try readLine()
        switch line {
        case "DELETED": return true
        case "NOT_FOUND": return false
        default: throw Self.failure(line)
        }
    }

    /// `version`: the server's version string, e.g. "1.6.18".
    public func version() throws(MemcachedClientError) -> String {
        try send(Array("version\r\n".utf8))
        let line = try readLine()
        guard line.hasPrefix("VERSION ") else { throw Self.failure(line) }
        return String(line.dropFirst("VERSION ".count))
    }

    /// `stats`: the general statistics as name → value.
    public func stats() throws(MemcachedClientError) -> [String: String] {
        try send(Array("stats\r\n".utf8))
        var result: [String: String] = [:]
        while true {
            let line = try readLine()
            if line == "END" { return result }
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, parts[0] == "STAT" else { throw Self.failure(line) }
            result[String(parts[1])] = String(parts[2])
        }
    }

    public func close() { socket.close() }

    // MARK: Low level

    /// Writes raw protocol bytes, for commands this client does not wrap (`incr`, `cas`,
    /// `noreply` variants) or deliberately malformed requests; read answers with `readLine`.
    public func send(raw request: [UInt8]) throws(MemcachedClientError) {
        try send(request)
    }

    // MARK: Replies

    /// `VALUE <key> <flags> <bytes>\r\n<data>\r\n` at most once, then `END\r\n`.
    private func readGetReply() throws(MemcachedClientError) -> MemcachedItem? {
        let line = try readLine()
        if line == "END" { return nil }
        let parts = line.split(separator: " ")
        guard parts.count >= 4, parts[0] == "VALUE", let flags = UInt32(parts[2]), let length = Int(parts[3]),
            length >= 0
        else { throw Self.failure(line) }
        guard length <= maxValueLength else { throw .unexpectedReply("VALUE of \(length) bytes over the limit") }
        let data = try readExactly(length + 2)
        guard data[length] == 13, data[length + 1] == 10 else { throw .unexpectedReply("value not followed by CRLF") }
        let end = try readLine()
        guard end == "END" else { throw .unexpectedReply(end) }
        return MemcachedItem(key: String(parts[1]), flags: flags, value: Array(data[0..<length]))
    }

    /// The next reply line, without its CRLF.
    public func readLine() throws(MemcachedClientError) -> String {
        var scanned = start
        while true {
            while scanned + 1 < buffer.count {
                if buffer[scanned] == 13 && buffer[scanned + 1] == 10 {
                    let line = String(decoding: buffer[start..<scanned], as: UTF8.self)
                    consume(upTo: scanned + 2)
                    return line
                }
                scanned += 1
            }
            if buffer.count - start > maxLineLength { throw .unexpectedReply("line over \(maxLineLength) bytes") }
            try fill()
        }
    }

    private func readExactly(_ count: Int) throws(MemcachedClientError) -> [UInt8] {
        while buffer.count - start < count { try fill() }
        let bytes = Array(buffer[start..<(start + count)])
        consume(upTo: start + count)
        return bytes
    }

    private func consume(upTo index: Int) {
        start = index
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 4096 && start * 2 > buffer.count {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }

    private func fill() throws(MemcachedClientError) {
        do {
            buffer.append(contentsOf: try socket.receive())
        } catch {
            throw .socket(error)
        }
    }

    private func send(_ request: [UInt8]) throws(MemcachedClientError) {
        var early: [UInt8] = []
        defer { buffer.append(contentsOf: early) }
        do {
            try socket.send(request, drainingInto: &early)
        } catch {
            throw .socket(error)
        }
    }

    private static func failure(_ line: String) -> MemcachedClientError {
        if line == "ERROR" || line.hasPrefix("CLIENT_ERROR") || line.hasPrefix("SERVER_ERROR") {
            return .serverError(line)
        }
        return .unexpectedReply(line)
    }

    private static func validate(_ key: String) throws(MemcachedClientError) {
        let bytes = key.utf8
        guard !bytes.isEmpty, bytes.count <= 250, bytes.allSatisfy({ $0 > 32 && $0 != 127 }) else {
            throw .invalidKey(key)
        }
    }
}

@available(*, unavailable)
extension MemcachedClient: Sendable {}
