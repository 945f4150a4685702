import NIOCore
import RiftCore

/// `packet_loss`: whole chunks are dropped at random, on purpose breaking the stream (what
/// a reader sees is missing bytes, not a slow link; use `loss` for the latter). Named and
/// shaped as the `packet_loss` toxic offered for Toxiproxy: a chunk is dropped with
/// probability `loss_rate`, or `loss_rate + correlation` (at most 1) right after a dropped
/// chunk, which makes drops come in bursts. Draws come from the connection's seeded random.
/// EOF passes through; nothing is held.
public struct PacketLossConfig: FaultStageConfig {
    public static let type = "packet_loss"
    public static let attributeNames = ["loss_rate", "correlation"]

    /// Probability (0 to 1) that a chunk is dropped.
    public var lossRate: Double
    /// Extra drop probability (0 to 1) for the chunk after a dropped one.
    public var correlation: Double

    public init(lossRate: Double, correlation: Double = 0) {
        self.lossRate = lossRate
        self.correlation = correlation
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        let r = AttributeReader(attributes)
        lossRate = try r.double("loss_rate", default: 0.1, range: 0...1)
        correlation = try r.double("correlation", default: 0, range: 0...1)
    }

    public var attributes: FaultAttributes {
        ["loss_rate": .double(lossRate), "correlation": .double(correlation)]
    }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        TimedStageHandler(policy: PacketLossPolicy(config: self, random: environment.random))
    }
}

public struct PacketLossPolicy: StagePolicy {
    public let config: PacketLossConfig
    public var random: SeededRandom
    private var lastDropped = false

    public init(config: PacketLossConfig, random: SeededRandom) {
        self.config = config
        self.random = random
    }

    public mutating func transform(_ buffer: ByteBuffer, now: NIODeadline, into actions: inout [StageAction]) {
        let p = lastDropped ? min(1, config.lossRate + config.correlation) : config.lossRate
        lastDropped = random.nextUnit() < p
        actions.append(lastDropped ? .drop(buffer) : .pass(buffer, at: now))
    }
}
