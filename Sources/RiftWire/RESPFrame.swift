import NIOCore

/// The RESP2/RESP3 types, by their first byte, plus `inline` for a request sent as a plain
/// line (`PING\r\n`), which redis-server accepts from telnet-style clients.
public enum RESPKind: UInt8, Sendable, Hashable, CaseIterable {
    case simpleString = 0x2B  // +
    case error = 0x2D  // -
    case integer = 0x3A  // :
    case bulkString = 0x24  // $
    case array = 0x2A  // *
    case null = 0x5F  // _
    case boolean = 0x23  // #
    case double = 0x2C  // ,
    case bigNumber = 0x28  // (
    case blobError = 0x21  // !
    case verbatimString = 0x3D  // =
    case map = 0x25  // %
    case set = 0x7E  // ~
    case attribute = 0x7C  // |
    case push = 0x3E  // >
    case inline = 0x00

    var isAggregate: Bool {
        switch self {
        case .array, .map, .set, .attribute, .push: return true
        case .simpleString, .error, .integer, .bulkString, .null, .boolean, .double, .bigNumber,
            .blobError, .verbatimString, .inline:
            return false
        }
    }
}

/// One complete RESP request or reply as it crossed the wire.
///
/// `bytes` is the exact slice of the stream the frame came from, so writing the `bytes` of
/// every frame in order reproduces the stream byte for byte. The rest is what a frame fault
/// matches on; the parser does not build a value tree.
public struct RESPFrame: Sendable, Equatable, CustomStringConvertible {
    /// The exact wire bytes of the frame (with any leading RESP3 attribute).
    public var bytes: ByteBuffer
    /// The type of the top-level value (after a leading attribute, if any).
    public var kind: RESPKind
    /// `$-1` or `*-1`, RESP2's nulls.
    public var isNull: Bool
    /// The frame starts with a RESP3 attribute (`|`).
    public var hasAttribute: Bool
    /// Elements the top-level aggregate declared (0 for scalars; words for inline requests).
    public var elementCount: Int
    /// Recorded top-level elements: for requests the argument vector (command first) up to
    /// `WireLimits.maxRecordedArguments`; for replies the first three elements of an aggregate,
    /// where a string-like element (simple, bulk, verbatim, integer text) is its payload and
    /// any other element is recorded as an empty buffer.
    public var arguments: [ByteBuffer]

    public init(bytes: ByteBuffer, kind: RESPKind, isNull: Bool = false, hasAttribute: Bool = false, elementCount: Int = 0, arguments: [ByteBuffer] = []) {
        self.bytes = bytes
        self.kind = kind
        self.isNull = isNull
        self.hasAttribute = hasAttribute
        self.elementCount = elementCount
        self.arguments = arguments
    }

    /// The command name, uppercased (requests only).
    public var command: String? {
        arguments.first.map { String(decoding: $0.readableBytesView, as: UTF8.self).uppercased() }
    }

    /// The keys a request names, from a table of common commands: every key for multi-key
    /// commands (`DEL`, `MGET`, `MSET`, `EVAL`'s numkeys...), none for commands without keys
    /// (`PING`, `PUBLISH`...), otherwise the first argument.
    public var keys: [ByteBuffer] {
        guard let command else { return [] }
        return RedisKeySpec.keys(command: command, arguments: arguments)
    }

    /// For a pub/sub message or a client-side-caching invalidation: its kind (`message`,
    /// `pmessage`, `smessage`, `invalidate`, lowercased) and channel (`__redis__:invalidate`
    /// for invalidations). RESP3 pushes always qualify; RESP2 arrays only when
    /// `resp2Arrays` is set, since only a subscribed connection makes an array a message.
    public func pubSubMessage(resp2Arrays: Bool = false) -> (kind: String, channel: ByteBuffer)? {
        guard kind == .push || (resp2Arrays && kind == .array && !isNull), let first = arguments.first else { return nil }
        let name = String(decoding: first.readableBytesView, as: UTF8.self).lowercased()
        switch name {
        case "message", "smessage":
            return arguments.count > 1 ? (name, arguments[1]) : nil
        case "pmessage":
            return arguments.count > 2 ? (name, arguments[2]) : nil
        case "invalidate":
            return kind == .push ? (name, ByteBuffer(string: "__redis__:invalidate")) : nil
        default:
            return nil
        }
    }

    public var description: String {
        let text = String(decoding: bytes.readableBytesView.prefix(80), as: UTF8.self)
        return "RESPFrame(\(kind), \(bytes.readableBytes) bytes: \(text.debugDescription))"
    }
}

/// Where a Redis command's keys are, for the commands frame faults are most likely to match.
enum RedisKeySpec {
    private static let noKeys: Set<String> = [
        "PING", "ECHO", "AUTH", "HELLO", "SELECT", "INFO", "CONFIG", "CLIENT", "MULTI", "EXEC",
        "DISCARD", "UNWATCH", "SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "SSUBSCRIBE",
        "SUNSUBSCRIBE", "PUBLISH", "SPUBLISH", "PUBSUB", "SCRIPT", "FUNCTION", "FLUSHDB", "FLUSHALL",
        "DBSIZE", "TIME", "QUIT", "RESET", "COMMAND", "CLUSTER", "SCAN", "RANDOMKEY", "LASTSAVE",
        "SAVE", "BGSAVE", "BGREWRITEAOF", "DEBUG", "SLOWLOG", "MONITOR", "READONLY", "READWRITE",
        "WAIT", "WAITAOF", "SWAPDB", "ROLE", "LATENCY", "MEMORY", "ACL", "SHUTDOWN", "REPLICAOF",
        "SLAVEOF", "MODULE", "LOLWUT", "FAILOVER", "SYNC", "PSYNC",
    ]
    /// Every argument after the command is a key.
    private static let allKeys: Set<String> = [
        "DEL", "UNLINK", "EXISTS", "MGET", "TOUCH", "WATCH", "SINTER", "SUNION", "SDIFF",
        "PFCOUNT", "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE", "PFMERGE",
    ]
    /// Keys alternate with values.
    private static let keyValuePairs: Set<String> = ["MSET", "MSETNX"]
    /// Every argument but the last (a timeout) is a key.
    private static let allButLast: Set<String> = ["BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"]
    /// The first two arguments are keys.
    private static let firstTwo: Set<String> = [
        "RENAME", "RENAMENX", "RPOPLPUSH", "LMOVE", "BLMOVE", "BRPOPLPUSH", "SMOVE", "COPY",
    ]
    /// A key count, then that many keys.
    private static let numKeysAt2: Set<String> = ["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"]

    static func keys(command: String, arguments: [ByteBuffer]) -> [ByteBuffer] {
        let rest = arguments.dropFirst()
        if noKeys.contains(command) { return [] }
        if allKeys.contains(command) { return Array(rest) }
        if keyValuePairs.contains(command) { return rest.enumerated().filter { $0.offset % 2 == 0 }.map(\.element) }
        if allButLast.contains(command) { return Array(rest.dropLast()) }
        if firstTwo.contains(command) { return Array(rest.prefix(2)) }
        if numKeysAt2.contains(command) {
            guard arguments.count > 2, let n = LineScanner.parseInt(arguments[2].readableBytesView), n >= 0 else { return [] }
            return Array(arguments.dropFirst(3).prefix(n))
        }
        if command == "OBJECT" || command == "XINFO" { return Array(arguments.dropFirst(2).prefix(1)) }
        return Array(rest.prefix(1))
    }
}
