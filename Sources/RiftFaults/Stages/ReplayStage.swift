import NIOCore
import RiftCore

/// `replay`: a matching write (by default RESP `SET`, memcached `set` and meta `ms`) goes
/// to the server as sent, and a byte-identical copy follows it `delay_ms` later, as a stale
/// retransmission would: the key goes back to the value it had then.
///
/// The client never sees the copy: the stage counts the replies it owes per connection and
/// swallows exactly the server's reply to the copy, so replies to pipelined requests stay
/// paired. A `noreply` request's copy has no reply to swallow. A copy whose reply count is
/// unknown (meta quiet mode `q`, or after a subscription or `CLIENT REPLY` ended reply
/// tracking) is not sent.
///
/// Bytes: the client's bytes pass unchanged and in order; copies are added between frames,
/// never inside one; at most `FrameStageHandler.maxHeldFrames` copies wait per connection
/// (further matches are not replayed). EOF waits for the copies due before it. Removal drops
/// copies not yet sent (they are not the client's bytes) and the stage stays, passing bytes
/// straight on, until the replies to copies already sent were swallowed (at most
/// `FrameStageHandler.removalGrace`). Upstream only: downstream installs no stage.
/// Match attributes: see `FrameMatch`; `commands` defaults to the writes above.
public struct ReplayConfig: FaultStageConfig {
    public static let type = "replay"
    public static let attributeNames = ["delay_ms"] + FrameMatch.attributeNames
    public static let defaultCommands = ["SET", "MS"]

    public var match: FrameMatch
    public var delayMs: Int64

    public init(delayMs: Int64, match: FrameMatch) {
        self.delayMs = delayMs
        self.match = match
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        delayMs = try AttributeReader(attributes).int("delay_ms", default: 1000, range: 0...3_600_000)
        match = try FrameMatch(attributes: attributes)
        if match.commands.isEmpty { match.commands = Self.defaultCommands }
    }

    public var attributes: FaultAttributes {
        var all = match.attributes
        all["delay_ms"] = .int(delayMs)
        return all
    }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        guard environment.direction == .upstream else { return nil }
        return FrameStageHandler(match: match, policy: ReplayPolicy(after: .milliseconds(delayMs), direction: environment.direction),
                                 environment: environment)
    }
}

/// A selected request goes on, and its copy follows `after` later (the stage sends it only
/// while it can pair the copy's reply, and swallows that reply). Upstream only: elsewhere
/// frames pass.
public struct ReplayPolicy: FramePolicy {
    public let after: TimeAmount
    public let direction: StreamDirection

    public init(after: TimeAmount, direction: StreamDirection) {
        self.after = after
        self.direction = direction
    }

    public var tracksReplies: Bool { direction == .upstream }

    public mutating func decide(_ frame: WireFrame, now: NIODeadline, queueIsEmpty: Bool,
                                random: inout SeededRandom) -> FrameAction {
        guard direction == .upstream else { return .pass(affected: false, notifies: false) }
        return .passAndCopy(at: now + after)
    }
}
