/// One message on the invalidation bus, as the origin publishes it on a key family's channel:
/// a change the origin took, or a heartbeat that carries the channel's last sequence number.
///
/// ```
/// <seq> <origin_ns> <key> <version>   a change: the origin took <key> at <version>
/// <seq> <origin_ns>                   a heartbeat: <seq> is the last change sent on the channel
/// ```
/// Sequence numbers count each channel's changes from 1, so a missing one is a lost change; the
/// origin time (the history's monotonic clock, which the invalidators share) tells a late one.
public enum BusMessage: Sendable, Equatable {
    case change(seq: Int64, originNs: Int64, key: String, version: Int64)
    case heartbeat(seq: Int64, originNs: Int64)

    /// The channel of key family `family`.
    public static func channel(family: Int) -> String { "rift-invalidations.\(family)" }

    /// The family a channel name carries; nil for another channel.
    public static func family(ofChannel channel: String) -> Int? {
        let prefix = "rift-invalidations."
        guard channel.hasPrefix(prefix) else { return nil }
        return Int(channel.dropFirst(prefix.count))
    }

    public var seq: Int64 {
        switch self {
        case .change(let s, _, _, _), .heartbeat(let s, _): s
        }
    }

    public var originNs: Int64 {
        switch self {
        case .change(_, let t, _, _), .heartbeat(_, let t): t
        }
    }

    public var text: String {
        switch self {
        case .change(let s, let t, let k, let v): "\(s) \(t) \(k) \(v)"
        case .heartbeat(let s, let t): "\(s) \(t)"
        }
    }

    /// Reads `text`; nil when it is not a bus message.
    public init?(text: String) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 4, let seq = Int64(parts[0]), seq >= 0, let t = Int64(parts[1]) else { return nil }
        if parts.count == 2 {
            self = .heartbeat(seq: seq, originNs: t)
            return
        }
        guard seq > 0, !parts[2].isEmpty, let v = Int64(parts[3]), v > 0 else { return nil }
        self = .change(seq: seq, originNs: t, key: String(parts[2]), version: v)
    }
}
