import NIOCore
import RiftCore

/// `delay_frame`: matching frames wait `delay` ms; others do not. Upstream, requests keep
/// their order, so a delayed request delays the requests behind it (their replies must stay
/// paired); downstream, a delayed push is overtaken by the replies and pushes behind it.
/// EOF waits behind every delayed frame. Match attributes: see `FrameMatch`.
public struct DelayFrameConfig: FaultStageConfig {
    public static let type = "delay_frame"
    public static let attributeNames = ["delay"] + FrameMatch.attributeNames

    public var match: FrameMatch
    public var delayMs: Int64

    public init(delayMs: Int64, match: FrameMatch) {
        self.delayMs = delayMs
        self.match = match
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        delayMs = try AttributeReader(attributes).int("delay", default: 0, range: 0...3_600_000)
        match = try FrameMatch(attributes: attributes)
    }

    public var attributes: FaultAttributes {
        var all = match.attributes
        all["delay"] = .int(delayMs)
        return all
    }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        FrameStageHandler(match: match, policy: DelayFramePolicy(delay: .milliseconds(delayMs), direction: environment.direction),
                          environment: environment)
    }
}

/// A selected frame waits `delay`: in order (a request delays the requests behind it, so
/// replies stay paired), except a push from the server, which is held aside and overtaken.
public struct DelayFramePolicy: FramePolicy {
    public let delay: TimeAmount
    public let direction: StreamDirection

    public init(delay: TimeAmount, direction: StreamDirection) {
        self.delay = delay
        self.direction = direction
    }

    public var tracksReplies: Bool { false }

    public mutating func decide(_ frame: WireFrame, now: NIODeadline, queueIsEmpty: Bool,
                                random: inout SeededRandom) -> FrameAction {
        if direction == .downstream && (frame.isPush || frame.isMessage) {
            return .holdAside(until: now + delay)
        }
        return .hold(until: now + delay)
    }
}
