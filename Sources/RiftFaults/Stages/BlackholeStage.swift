import NIOCore
import RiftCore

/// `blackhole`: a silent partition in one direction. Every byte is held, undelivered, for
/// as long as the stage is attached; above the high-water mark the stage stops reading, so
/// the sender's socket fills and it feels TCP backpressure, as behind a dead link. EOF and
/// inactivity are held too (a FIN is lost in a partition as well). On removal everything
/// held is delivered at once, in order, EOF last: the partition heals and TCP catches up.
///
/// Note that a held inactivity means the proxy learns of a closed reading socket only when
/// the blackhole is removed.
public struct BlackholeConfig: FaultStageConfig {
    public static let type = "blackhole"
    public static let attributeNames: [String] = []

    public init() {}

    public init(attributes: FaultAttributes) throws(FaultConfigError) {}

    public var attributes: FaultAttributes { [:] }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        TimedStageHandler(policy: BlackholePolicy())
    }
}

public struct BlackholePolicy: StagePolicy {
    public init() {}

    public mutating func transform(_ buffer: ByteBuffer, now: NIODeadline, into actions: inout [StageAction]) {
        actions.append(.holdUntilRemoved(buffer))
    }

    public mutating func endOfStreamRelease(now: NIODeadline) -> NIODeadline {
        .distantFuture
    }
}
