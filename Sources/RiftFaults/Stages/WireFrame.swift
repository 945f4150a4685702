import NIOCore
import RiftCore
import RiftWire

/// A RESP or memcached frame as frame stages see it.
public struct WireFrame: Sendable {
    public var bytes: ByteBuffer
    public var role: WireRole
    /// Request: the command, uppercased. Push: its kind (`message`, `invalidate`...).
    public var name: String?
    public var keys: [ByteBuffer]
    /// A RESP3 push (`>`): never a reply to a request.
    public var isPush: Bool
    /// A pub/sub message or invalidation: a RESP3 push, or a RESP2 array of that shape.
    public var isMessage: Bool
    public var channel: ByteBuffer?
    /// For requests: how many replies the server sends (0 or 1), or nil when that cannot be
    /// known from the request alone (subscriptions, `MONITOR`, `CLIENT REPLY`, meta quiet mode).
    public var expectedReplies: Int?
}

/// One parser for either protocol, in the role the stage's direction gives it.
struct WireFrameParser {
    private enum Inner {
        case resp(RESPParser)
        case memcached(MemcachedParser)
        /// Only while a parser is taken out to run, so its arrays are not copied on write.
        case moved
    }
    private var inner: Inner
    let role: WireRole

    /// Frames a stage holds are bounded: a larger frame makes the stage fall back to bytes.
    static let limits = WireLimits(maxFrameBytes: 16 * 1024 * 1024)

    private static let unpairedRESP: Set<String> = [
        "SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "SSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR", "SYNC", "PSYNC",
    ]

    /// How many replies redis sends to a request: nil when unknowable from the request alone.
    private static func expectedReplies(_ frame: RESPFrame) -> Int? {
        guard let command = frame.command else { return 0 }
        if unpairedRESP.contains(command) { return nil }
        if command == "CLIENT", frame.arguments.count > 1, String(buffer: frame.arguments[1]).uppercased() == "REPLY" { return nil }
        return 1
    }

    init(protocol wireProtocol: WireProtocol, role: WireRole) {
        self.role = role
        switch wireProtocol {
        case .resp: inner = .resp(RESPParser(role: role, limits: Self.limits))
        case .memcached: inner = .memcached(MemcachedParser(role: role, limits: Self.limits))
        }
    }

    mutating func next(_ buffer: inout ByteBuffer) throws(WireParseError) -> WireFrame? {
        switch inner {
        case .moved:
            preconditionFailure("parser re-entered")
        case .resp(var parser):
            inner = .moved
            defer { inner = .resp(parser) }
            guard let frame = try parser.next(&buffer) else { return nil }
            if role == .reply {
                let message = frame.pubSubMessage(resp2Arrays: true)
                let name = message?.kind ?? (frame.kind == .push ? frame.arguments.first.map { String(buffer: $0).lowercased() } : nil)
                return WireFrame(bytes: frame.bytes, role: role, name: name, keys: [], isPush: frame.kind == .push,
                                 isMessage: message != nil, channel: message?.channel, expectedReplies: nil)
            }
            return WireFrame(bytes: frame.bytes, role: role, name: frame.command, keys: frame.keys, isPush: false, isMessage: false,
                             channel: nil, expectedReplies: Self.expectedReplies(frame))
        case .memcached(var parser):
            inner = .moved
            defer { inner = .memcached(parser) }
            guard let frame = try parser.next(&buffer) else { return nil }
            let isMeta = (frame.command?.count ?? 0) == 2 && frame.command?.first == "M"
            let expected: Int? = frame.noreply ? (isMeta ? nil : 0) : 1
            return WireFrame(bytes: frame.bytes, role: role, name: frame.command, keys: frame.keys, isPush: false, isMessage: false, channel: nil,
                             expectedReplies: role == .request ? expected : nil)
        }
    }
}
