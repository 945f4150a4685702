/// Why a `RESPClient` call failed: the transport, the stream, or the server's answer.
public enum RESPClientError: Error, Equatable, Sendable {
    case socket(SocketError)
    case protocolError(RESPParser.ProtocolError)
    /// The server answered with an error reply where a convenience method expected success.
    case serverError(String)
    /// The server answered with a reply of the wrong shape for a convenience method.
    case unexpectedReply(RESPValue)
}

/// A minimal synchronous Redis client: requests are RESP arrays of bulk strings, replies are
/// parsed as RESP2 or RESP3 (send `HELLO 3` to switch). Error replies are returned as
/// `.error` values by `command`/`pipeline`, so tests can assert on them; only transport and
/// protocol failures throw.
///
/// Owned by one task at a time, like the socket it wraps.
public final class RESPClient {
    public let socket: BlockingSocket
    private var parser = RESPParser()

    public init(socket: BlockingSocket) {
        self.socket = socket
    }

    /// Connects to a Redis (or a proxy in front of one) on 127.0.0.1:`port`.
    public convenience init(
        port: UInt16,
        connectTimeout: Duration = .seconds(2),
        readTimeout: Duration = .seconds(5)
    ) throws(RESPClientError) {
        let socket: BlockingSocket
        do {
            socket = try BlockingSocket(port: port, connectTimeout: connectTimeout, readTimeout: readTimeout)
        } catch {
            throw .socket(error)
        }
        self.init(socket: socket)
    }

    // MARK: Commands

    public func command(_ args: [[UInt8]]) throws(RESPClientError) -> RESPValue {
        try send([args])
        return try readReply()
    }

    public func command(_ args: [String]) throws(RESPClientError) -> RESPValue {
        try command(args.map { Array($0.utf8) })
    }

    public func command(_ args: String...) throws(RESPClientError) -> RESPValue {
        try command(args)
    }

    /// Sends all commands in one write, then reads one reply per command, in order.
    /// Replies that arrive while the requests are still being written are buffered, so a
    /// large pipeline cannot deadlock on full socket buffers.
    public func pipeline(_ commands: [[[UInt8]]]) throws(RESPClientError) -> [RESPValue] {
        try send(commands)
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try readReply()) }
        return replies
    }

    public func pipeline(_ commands: [[String]]) throws(RESPClientError) -> [RESPValue] {
        try pipeline(commands.map { $0.map { Array($0.utf8) } })
    }

    // MARK: Conveniences

    /// GET: the value, or nil if the key does not exist.
    public func get(_ key: String) throws(RESPClientError) -> [UInt8]? {
        let reply = try command([Array("GET".utf8), Array(key.utf8)])
        switch reply {
        case .bulkString(let value): return value
        case .null: return nil
        case .error(let message): throw .serverError(message)
        default: throw .unexpectedReply(reply)
        }
    }

    /// SET; throws unless the server answers OK.
    public func set(_ key: String, value: [UInt8]) throws(RESPClientError) {
        let reply = try command([Array("SET".utf8), Array(key.utf8), value])
        switch reply {
        case .simpleString("OK"): return
        case .error(let message): throw .serverError(message)
        default: throw .unexpectedReply(reply)
        }
    }

    public func set(_ key: String, value: String) throws(RESPClientError) {
        try set(key, value: Array(value.utf8))
    }

    // MARK: Low level

    /// Writes commands without reading replies (for SUBSCRIBE, MONITOR, or replies read later
    /// with `readReply`). Bytes that arrive meanwhile are kept for `readReply`.
    public func send(_ commands: [[[UInt8]]]) throws(RESPClientError) {
        var request: [UInt8] = []
        request.reserveCapacity(commands.reduce(0) { $0 + $1.reduce(16) { $0 + $1.count + 16 } })
        for args in commands { Self.encode(args, into: &request) }
        var early: [UInt8] = []
        do {
            try socket.send(request, drainingInto: &early)
        } catch {
            parser.append(early)
            throw .socket(error)
        }
        parser.append(early)
    }

    /// The next reply (or push message), waiting up to the socket's read timeout per read.
    public func readReply() throws(RESPClientError) -> RESPValue {
        while true {
            do {
                if let value = try parser.next() { return value }
            } catch {
                throw .protocolError(error)
            }
            do {
                parser.append(try socket.receive())
            } catch {
                throw .socket(error)
            }
        }
    }

    public func close() { socket.close() }

    /// A RESP array of bulk strings: the form every Redis command takes on the wire.
    public static func encode(_ args: [[UInt8]], into out: inout [UInt8]) {
        out.append(contentsOf: Array("*\(args.count)\r\n".utf8))
        for arg in args {
            out.append(contentsOf: Array("$\(arg.count)\r\n".utf8))
            out.append(contentsOf: arg)
            out.append(contentsOf: [13, 10])
        }
    }
}

@available(*, unavailable)
extension RESPClient: Sendable {}
