import NIOCore

/// What a memcached reply is, by its first word. Text-protocol retrievals (`VALUE`... `END`)
/// and statistics (`STAT`... `END`) are one frame each, up to and including their `END`.
public enum MemcachedReplyKind: String, Sendable, Hashable, CaseIterable {
    /// `VALUE` blocks then `END`, or a lone `END` (a miss), answering `get/gets/gat/gats`.
    case values
    /// `STAT` lines then `END`, answering `stats`.
    case stats
    case stored = "STORED"
    case notStored = "NOT_STORED"
    case exists = "EXISTS"
    case notFound = "NOT_FOUND"
    case deleted = "DELETED"
    case touched = "TOUCHED"
    case ok = "OK"
    case version = "VERSION"
    /// A decimal number, answering `incr/decr`.
    case number
    case error = "ERROR"
    case clientError = "CLIENT_ERROR"
    case serverError = "SERVER_ERROR"
    /// Meta replies: `VA` carries a data block; the others are one line.
    case metaValue = "VA"
    case metaHeader = "HD"
    case metaNotStored = "NS"
    case metaExists = "EX"
    case metaNotFound = "NF"
    case metaEnd = "EN"
    case metaNoop = "MN"
    case metaDebug = "ME"
    /// Any other line (`RESET`, `ITEM`...), passed on as it is.
    case other
}

/// One complete memcached request or reply as it crossed the wire.
///
/// `bytes` is the exact slice of the stream, data blocks included, so writing the `bytes`
/// of every frame in order reproduces the stream byte for byte.
public struct MemcachedFrame: Sendable, Equatable, CustomStringConvertible {
    /// The exact wire bytes of the frame.
    public var bytes: ByteBuffer
    /// For a request, the command name uppercased (`GET`, `SET`, `MG`...); nil for an empty
    /// line and for replies.
    public var command: String?
    /// For a reply, its kind; nil for requests.
    public var replyKind: MemcachedReplyKind?
    /// Request keys (every key of a multi-key `get`), or for a `values` reply the keys of its
    /// `VALUE` blocks; at most `WireLimits.maxRecordedArguments`.
    public var keys: [ByteBuffer]
    /// The request asks for no reply (`noreply`, or the meta `q` flag), so replies cannot be
    /// paired with requests by order alone.
    public var noreply: Bool
    /// Bytes of data blocks in the frame (without their CRLFs).
    public var dataLength: Int

    public init(bytes: ByteBuffer, command: String? = nil, replyKind: MemcachedReplyKind? = nil, keys: [ByteBuffer] = [], noreply: Bool = false, dataLength: Int = 0) {
        self.bytes = bytes
        self.command = command
        self.replyKind = replyKind
        self.keys = keys
        self.noreply = noreply
        self.dataLength = dataLength
    }

    public var description: String {
        let text = String(decoding: bytes.readableBytesView.prefix(80), as: UTF8.self)
        let what = command ?? replyKind.map { "\($0)" } ?? "empty"
        return "MemcachedFrame(\(what), \(bytes.readableBytes) bytes: \(text.debugDescription))"
    }
}
