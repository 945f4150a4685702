import NIOCore
import RiftWire

/// The blocking Redis client of the harness's workloads and of the tests: requests are RESP
/// arrays of bulk strings (`RESPRequestEncoder`), replies RESP2 or RESP3 values
/// (`RESPReplyDecoder`; send `HELLO 3` to switch). Error replies are values, not throws, so a
/// caller can tell a refusal (`.error`) from a lost reply (a thrown `ClientError`).
///
/// Every call has a deadline: `request(_:deadlineNs:)` takes one on the monotonic clock
/// (`RiftClock`); the calls without it (`command`, `pipeline`, `readReply`) use the
/// connection's timeout from the moment they start. One request in flight at a time (or one
/// pipeline); owned by one thread at a time.
///
/// A cache-client protocol (get/set/add/delete/cas plus routing) sits directly on this:
/// routing picks the `RESPClient` per node, `request` carries the command, and the reply is
/// read off the `RESPValue`.
public final class RESPClient: BlockingClient {
    public let connection: ClientConnection
    private var replies = ReplyStream<RESPReplyDecoder>()

    public init(connection: ClientConnection) {
        self.connection = connection
    }

    // MARK: Requests with a deadline

    /// Sends one command and reads its reply before `deadlineNs` (monotonic).
    public func request(_ arguments: [String], deadlineNs: Int64) throws(ClientError) -> RESPValue {
        try connection.exchange { () throws(ClientError) -> RESPValue in
            try connection.send(deadlineNs: deadlineNs) { RESPRequestEncoder.encode(arguments, into: &$0) }
            return try readReply(deadlineNs: deadlineNs)
        }
    }

    /// Writes commands without reading their replies (pipelines, SUBSCRIBE, client tracking).
    public func send(_ commands: [[String]], deadlineNs: Int64) throws(ClientError) {
        try connection.exchange { () throws(ClientError) in
            try connection.send(deadlineNs: deadlineNs) { for c in commands { RESPRequestEncoder.encode(c, into: &$0) } }
        }
    }

    /// The next reply or push before `deadlineNs`.
    public func readReply(deadlineNs: Int64) throws(ClientError) -> RESPValue {
        try connection.exchange { () throws(ClientError) -> RESPValue in
            try replies.read(connection, deadlineNs: deadlineNs)
        }
    }

    /// The next reply or push if one has arrived whole, without waiting (what a client-side
    /// cache polls for invalidations); nil when none has.
    public func readIfAvailable() throws(ClientError) -> RESPValue? {
        try connection.exchange { () throws(ClientError) -> RESPValue? in
            try replies.readIfAvailable(connection)
        }
    }

    /// True when bytes of a reply not yet complete have arrived (a push being received).
    public var hasPartialReply: Bool { connection.input.readableBytes > 0 }

    // MARK: Requests with the connection's timeout

    public func command(_ args: [[UInt8]]) throws(ClientError) -> RESPValue {
        try send([args])
        return try readReply()
    }

    public func command(_ args: [String]) throws(ClientError) -> RESPValue {
        try command(args.map { Array($0.utf8) })
    }

    public func command(_ args: String...) throws(ClientError) -> RESPValue {
        try command(args)
    }

    /// Sends all commands in one write, then reads one reply per command, in order. Replies
    /// that arrive while the requests are still being written are kept, so a large pipeline
    /// cannot deadlock on full socket buffers.
    public func pipeline(_ commands: [[[UInt8]]]) throws(ClientError) -> [RESPValue] {
        try send(commands)
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try readReply()) }
        return replies
    }

    public func pipeline(_ commands: [[String]]) throws(ClientError) -> [RESPValue] {
        try pipeline(commands.map { $0.map { Array($0.utf8) } })
    }

    /// GET: the value, or nil if the key does not exist.
    public func get(_ key: String) throws(ClientError) -> [UInt8]? {
        let reply = try command([Array("GET".utf8), Array(key.utf8)])
        switch reply.withoutAttributes {
        case .bulkString(let value): return value
        case .null: return nil
        case .error(let message): throw .serverError(message)
        default: throw .unexpectedReply("\(reply)")
        }
    }

    /// SET; throws unless the server answers OK.
    public func set(_ key: String, value: [UInt8]) throws(ClientError) {
        let reply = try command([Array("SET".utf8), Array(key.utf8), value])
        switch reply.withoutAttributes {
        case .simpleString("OK"): return
        case .error(let message): throw .serverError(message)
        default: throw .unexpectedReply("\(reply)")
        }
    }

    public func set(_ key: String, value: String) throws(ClientError) {
        try set(key, value: Array(value.utf8))
    }

    /// Writes commands without reading replies; bytes that arrive meanwhile are kept for
    /// `readReply`.
    public func send(_ commands: [[[UInt8]]]) throws(ClientError) {
        let deadline = connection.defaultDeadline()
        try connection.exchange { () throws(ClientError) in
            try connection.send(deadlineNs: deadline) { for c in commands { RESPRequestEncoder.encode(c, into: &$0) } }
        }
    }

    /// The next reply (or push), waiting up to the timeout.
    public func readReply() throws(ClientError) -> RESPValue {
        try readReply(deadlineNs: connection.defaultDeadline())
    }
}

@available(*, unavailable)
extension RESPClient: Sendable {}
