import NIOCore
import RiftCore

/// `loss`: packet loss as a TCP endpoint feels it. Nothing is dropped, duplicated or
/// reordered; lost segments cost time.
///
/// Each chunk is cut into `segment`-byte segments sent when the chunk arrives. Each segment
/// is lost with probability `rate`; a lost segment is retransmitted one RTO later (`rto` ms),
/// and a lost retransmission waits twice as long again (exponential backoff, each wait
/// capped at 64 × `rto` and at 60 s). Every byte behind a late segment waits for it
/// (head-of-line blocking), but the segments behind were sent too, so their own losses are
/// recovered meanwhile and do not add up. After 15 lost retransmissions of one segment (Linux's
/// `tcp_retries2`) the segment goes through, where a real endpoint would abort; Rift keeps the
/// stream intact. EOF follows the last byte.
///
/// `correlation` makes losses bursty while keeping the rate of first transmissions at
/// `rate`: each segment's loss decision repeats the previous segment's with probability
/// `correlation`, and is otherwise drawn afresh (lost with probability `rate`), so the chance
/// a segment is lost right after a lost one is `correlation + (1 - correlation) * rate`.
/// A retransmission is decided the same way from the attempt before it, so during a burst
/// retransmissions are lost again more often too.
/// (tc netem's formula, `correlation * previous + (1 - correlation) * fresh` on the uniform
/// draw, squeezes the draws toward 0.5 and so silently lowers the loss rate: at rate 0.1
/// and correlation 0.9 it loses almost nothing. That is why Rift does not use it.)
/// All draws come from the connection's seeded random.
public struct LossConfig: FaultStageConfig {
    public static let type = "loss"
    public static let attributeNames = ["rate", "correlation", "rto", "segment"]
    /// Retransmissions of one segment after which it is let through.
    public static let maxRetransmissions = 15
    /// Backoff cap: one wait is at most this multiple of `rto`...
    public static let maxBackoffFactor: Int64 = 64
    /// ...and at most this many milliseconds.
    public static let maxWaitMs: Int64 = 60_000

    /// Probability (0 to 1) that a segment, or a retransmission, is lost.
    public var rate: Double
    /// Probability (0 to 1) that a loss decision repeats the previous one (burstiness).
    public var correlation: Double
    /// Milliseconds before the first retransmission of a lost segment.
    public var rtoMs: Int64
    /// Bytes per segment (the MSS).
    public var segmentBytes: Int64

    public init(rate: Double, correlation: Double = 0, rtoMs: Int64 = 200, segmentBytes: Int64 = 1448) {
        self.rate = rate
        self.correlation = correlation
        self.rtoMs = rtoMs
        self.segmentBytes = segmentBytes
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        let r = AttributeReader(attributes)
        rate = try r.double("rate", default: 0.01, range: 0...1)
        correlation = try r.double("correlation", default: 0, range: 0...1)
        rtoMs = try r.int("rto", default: 200, range: 1...60_000)
        segmentBytes = try r.int("segment", default: 1448, range: 1...65_535)
    }

    public var attributes: FaultAttributes {
        ["rate": .double(rate), "correlation": .double(correlation), "rto": .int(rtoMs), "segment": .int(segmentBytes)]
    }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        TimedStageHandler(policy: LossPolicy(config: self, random: environment.random))
    }

    /// Milliseconds a segment lost `losses` times in a row waits before it gets through.
    public func delayMs(afterLosses losses: Int) -> Int64 {
        var total: Int64 = 0
        var wait = rtoMs
        let cap = min(rtoMs * Self.maxBackoffFactor, Self.maxWaitMs)
        for _ in 0..<min(losses, Self.maxRetransmissions + 1) {
            total += min(wait, cap)
            wait = min(wait * 2, cap)
        }
        return total
    }
}

public struct LossPolicy: StagePolicy {
    public let config: LossConfig
    public var random: SeededRandom
    /// Whether the previous segment's first transmission was lost (nil before the first).
    private var previousLost: Bool?

    public init(config: LossConfig, random: SeededRandom) {
        self.config = config
        self.random = random
    }

    /// One correlated decision: is a transmission lost, given the outcome of the one it follows?
    public mutating func transmissionLost(after previous: Bool?) -> Bool {
        if let previous, config.correlation > 0, random.nextUnit() < config.correlation {
            return previous
        }
        return random.nextUnit() < config.rate
    }

    /// How many times in a row the next segment is lost (0 = it gets through first time).
    /// Consecutive segments chain their first transmissions (they are sent back to back);
    /// a segment's retransmissions chain from its own attempts.
    public mutating func lossesForNextSegment() -> Int {
        let firstLost = transmissionLost(after: previousLost)
        previousLost = firstLost
        guard firstLost else { return 0 }
        var losses = 1
        while losses <= LossConfig.maxRetransmissions, transmissionLost(after: true) { losses += 1 }
        return losses
    }

    public mutating func transform(_ buffer: ByteBuffer, now: NIODeadline, into actions: inout [StageAction]) {
        let segment = Int(config.segmentBytes)
        // Runs of segments with the same delay leave as one slice.
        var runStart = buffer.readerIndex
        var runLength = 0
        var runDelayMs: Int64 = 0
        var offset = buffer.readerIndex
        let end = buffer.writerIndex
        while offset < end {
            let length = min(segment, end - offset)
            let delayMs = config.delayMs(afterLosses: lossesForNextSegment())
            if runLength > 0, delayMs != runDelayMs {
                actions.append(.pass(buffer.getSlice(at: runStart, length: runLength)!, at: now + .milliseconds(runDelayMs)))
                runStart = offset
                runLength = 0
            }
            runDelayMs = delayMs
            runLength += length
            offset += length
        }
        if runLength > 0 {
            actions.append(.pass(buffer.getSlice(at: runStart, length: runLength)!, at: now + .milliseconds(runDelayMs)))
        }
    }
}
