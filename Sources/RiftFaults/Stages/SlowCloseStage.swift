import NIOCore
import RiftCore

/// `slow_close`: the end of the stream (EOF, or the reading socket closing) is passed on
/// `delay` ms after it arrives, as a peer that lingers before its FIN. Data is untouched and
/// passes at once; the EOF still never overtakes data ahead of it.
public struct SlowCloseConfig: FaultStageConfig {
    public static let type = "slow_close"
    public static let attributeNames = ["delay"]

    /// Milliseconds the EOF is held.
    public var delayMs: Int64

    public init(delayMs: Int64) {
        self.delayMs = delayMs
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        let r = AttributeReader(attributes)
        delayMs = try r.int("delay", default: 0, range: 0...3_600_000)
    }

    public var attributes: FaultAttributes { ["delay": .int(delayMs)] }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        TimedStageHandler(policy: SlowClosePolicy(config: self))
    }
}

public struct SlowClosePolicy: StagePolicy {
    public let config: SlowCloseConfig

    public init(config: SlowCloseConfig) {
        self.config = config
    }

    public mutating func transform(_ buffer: ByteBuffer, now: NIODeadline, into actions: inout [StageAction]) {
        actions.append(.pass(buffer, at: now))
    }

    public mutating func endOfStreamRelease(now: NIODeadline) -> NIODeadline {
        now + .milliseconds(config.delayMs)
    }
}
