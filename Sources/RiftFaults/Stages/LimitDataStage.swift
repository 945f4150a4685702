import NIOCore
import RiftCore

/// `limit_data`: passes the first `bytes` bytes of this connection and direction, then sends
/// `FaultDirective.close` (right after the byte that reaches the limit, as Toxiproxy closes as
/// soon as the limit is met) and drops everything after. A chunk that crosses the limit is
/// cut at it. With `bytes` 0 the first chunk is dropped and the connection closed.
/// EOF before the limit passes through.
public struct LimitDataConfig: FaultStageConfig {
    public static let type = "limit_data"
    public static let attributeNames = ["bytes"]

    /// Bytes passed before the connection is closed.
    public var bytes: Int64

    public init(bytes: Int64) {
        self.bytes = bytes
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        let r = AttributeReader(attributes)
        bytes = try r.int("bytes", default: 0, range: 0...Int64.max)
    }

    public var attributes: FaultAttributes { ["bytes": .int(bytes)] }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        TimedStageHandler(policy: LimitDataPolicy(config: self))
    }
}

public struct LimitDataPolicy: StagePolicy {
    public let config: LimitDataConfig
    /// Bytes passed so far on this connection and direction.
    public private(set) var bytesPassed: Int64 = 0
    private var closed = false

    public init(config: LimitDataConfig) {
        self.config = config
    }

    public mutating func transform(_ buffer: ByteBuffer, now: NIODeadline, into actions: inout [StageAction]) {
        guard !closed else {
            actions.append(.drop(buffer))
            return
        }
        var rest = buffer
        let allowed = Int(min(Int64(rest.readableBytes), config.bytes - bytesPassed))
        if allowed > 0 {
            actions.append(.pass(rest.readSlice(length: allowed)!, at: now))
            bytesPassed += Int64(allowed)
        }
        if bytesPassed >= config.bytes {
            closed = true
            actions.append(.directive(.close))
            if rest.readableBytes > 0 { actions.append(.drop(rest)) }
        }
    }
}
