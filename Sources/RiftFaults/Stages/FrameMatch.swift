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
