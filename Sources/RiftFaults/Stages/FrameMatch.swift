import NIOCore
import RiftCore
import RiftWire

/// The wire protocol a frame stage parses.
public enum WireProtocol: String, Sendable, Hashable, CaseIterable {
    case resp
    case memcached
}

/// Which frames a frame fault acts on, as its attributes say: `commands` (comma-separated
/// names, any case; on the server-to-client side they name push kinds such as `message` or
/// `invalidate`), `key` (a glob over request keys), `channel` (a glob over push channels),
/// `probability` (0-1, drawn per matching frame from the stage's seeded source), `limit`
/// (most frames affected per connection and direction; 0 = no limit) and `protocol`.
///
/// Requests match when every given criterion does (a `key` glob matches when any key does).
/// Server-to-client frames match only when they are pushes (RESP3 pushes, including
/// `invalidate`, and RESP2 arrays shaped as pub/sub messages, `["message", channel, payload]`,
/// which only a subscribed connection receives; memcached has none), filtered by `commands`
/// and `channel`.
public struct FrameMatch: Sendable, Equatable {
    public static let attributeNames = ["commands", "key", "channel", "probability", "limit", "protocol"]

    public var commands: [String]
    public var keyGlob: String?
    public var channelGlob: String?
    public var probability: Double
    public var limit: Int64
    public var wireProtocol: WireProtocol

    public init(commands: [String] = [], keyGlob: String? = nil, channelGlob: String? = nil, probability: Double = 1, limit: Int64 = 0, wireProtocol: WireProtocol = .resp) {
        self.commands = commands.map { $0.uppercased() }
        self.keyGlob = keyGlob
        self.channelGlob = channelGlob
        self.probability = probability
        self.limit = limit
        self.wireProtocol = wireProtocol
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        let r = AttributeReader(attributes)
        let commandText = attributes["commands"].map { "\($0)" } ?? ""
        commands = commandText.split(separator: ",").map { $0.trimmingCharacters(in: " ").uppercased() }.filter { !$0.isEmpty }
        keyGlob = attributes["key"].map { "\($0)" }.flatMap { $0.isEmpty ? nil : $0 }
        channelGlob = attributes["channel"].map { "\($0)" }.flatMap { $0.isEmpty ? nil : $0 }
        probability = try r.double("probability", default: 1, range: 0...1)
        limit = try r.int("limit", default: 0, range: 0...Int64.max)
        wireProtocol = WireProtocol(rawValue: try r.choice("protocol", default: "resp", allowed: WireProtocol.allCases.map(\.rawValue)))!
    }

    public var attributes: FaultAttributes {
        [
            "commands": .string(commands.joined(separator: ",")), "key": .string(keyGlob ?? ""),
            "channel": .string(channelGlob ?? ""), "probability": .double(probability), "limit": .int(limit),
            "protocol": .string(wireProtocol.rawValue),
        ]
    }

    /// Whether `frame`'s content matches (probability and limit are the stage's to apply).
    public func matches(_ frame: WireFrame) -> Bool {
        if frame.isPush || frame.isMessage {
            if !commands.isEmpty && !commands.contains(frame.name?.uppercased() ?? "") { return false }
            if let channelGlob {
                guard let channel = frame.channel, Glob.matches(channelGlob, channel.readableBytesView) else { return false }
            }
            return true
        }
        guard frame.role == .request, let name = frame.name else { return false }
        if !commands.isEmpty && !commands.contains(name) { return false }
        if let keyGlob, !frame.keys.contains(where: { Glob.matches(keyGlob, $0.readableBytesView) }) { return false }
        return true
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop(while: { $0 == set }).reversed().drop(while: { $0 == set }).reversed())
    }
}

/// Redis-style glob matching over bytes: `*`, `?`, `[abc]`, `[a-z]`, `[^a]`, `\` escapes.
public enum Glob {
    public static func matches(_ pattern: String, _ text: some Collection<UInt8>) -> Bool {
        let p = Array(pattern.utf8)
        let t = Array(text)
        var pi = 0, ti = 0
        var starP = -1, starT = 0
        while ti < t.count {
            if pi < p.count, p[pi] == UInt8(ascii: "*") {
                starP = pi
                starT = ti
                pi += 1
                continue
            }
            if pi < p.count, let next = single(p, pi, t[ti]) {
                pi = next
                ti += 1
                continue
            }
            guard starP >= 0 else { return false }
            pi = starP + 1
            starT += 1
            ti = starT
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// Matches one byte against the pattern element at `pi`; returns the next pattern index.
    private static func single(_ p: [UInt8], _ pi: Int, _ c: UInt8) -> Int? {
        switch p[pi] {
        case UInt8(ascii: "?"):
            return pi + 1
        case UInt8(ascii: "\\") where pi + 1 < p.count:
            return p[pi + 1] == c ? pi + 2 : nil
        case UInt8(ascii: "["):
            var i = pi + 1
            let negate = i < p.count && p[i] == UInt8(ascii: "^")
            if negate { i += 1 }
            var found = false
            while i < p.count && p[i] != UInt8(ascii: "]") {
                if p[i] == UInt8(ascii: "\\") && i + 1 < p.count {
                    if p[i + 1] == c { found = true }
                    i += 2
                } else if i + 2 < p.count && p[i + 1] == UInt8(ascii: "-") && p[i + 2] != UInt8(ascii: "]") {
                    if min(p[i], p[i + 2]) <= c && c <= max(p[i], p[i + 2]) { found = true }
                    i += 3
                } else {
                    if p[i] == c { found = true }
                    i += 1
                }
            }
            guard i < p.count else { return p[pi] == c ? pi + 1 : nil }  // no closing bracket: literal
            return found != negate ? i + 1 : nil
        default:
            return p[pi] == c ? pi + 1 : nil
        }
    }
}

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
