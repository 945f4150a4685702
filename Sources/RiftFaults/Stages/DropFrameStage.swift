import NIOCore
import RiftCore

/// `drop_frame`: matching frames vanish from the stream, which stays valid around them.
/// Upstream, a matching request never reaches the server: the client sees a timeout (and,
/// if it pipelines, replies paired with the wrong requests, as after a real loss).
/// Downstream, a matching push (a pub/sub message, a RESP3 `invalidate`) is removed.
/// Match attributes: see `FrameMatch`. If the stream cannot be parsed the stage forwards
/// bytes unchanged (`FrameStageHandler.fallbackError`).
public struct DropFrameConfig: FaultStageConfig {
    public static let type = "drop_frame"
    public static let attributeNames = FrameMatch.attributeNames

    public var match: FrameMatch

    public init(match: FrameMatch) { self.match = match }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        match = try FrameMatch(attributes: attributes)
    }

    public var attributes: FaultAttributes { match.attributes }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        FrameStageHandler(match: match, policy: DropFramePolicy(), environment: environment)
    }
}

/// Every selected frame is dropped.
public struct DropFramePolicy: FramePolicy {
    public init() {}

    public var tracksReplies: Bool { false }

    public mutating func decide(_ frame: WireFrame, now: NIODeadline, queueIsEmpty: Bool,
                                random: inout SeededRandom) -> FrameAction {
        .drop
    }
}
