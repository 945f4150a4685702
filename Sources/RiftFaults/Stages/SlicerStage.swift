import NIOCore
import RiftCore

/// `slicer`: every chunk is cut into pieces of `average_size` ± `size_variation` bytes
/// (uniformly, from the connection's seeded random), with `delay` µs between pieces, as a
/// path that fragments and spaces segments. A chunk no larger than `average_size +
/// size_variation` stays whole; the last piece of a chunk holds what is left and may be
/// smaller. Like Toxiproxy, the stage also waits `delay` after a chunk's last piece before the
/// next chunk's first, so delays add up over chunks. Bytes are neither changed nor
/// reordered; EOF follows the last piece.
public struct SlicerConfig: FaultStageConfig {
    public static let type = "slicer"
    public static let attributeNames = ["average_size", "size_variation", "delay"]

    /// Bytes per piece on average.
    public var averageSize: Int64
    /// Bytes a piece may be larger or smaller than average; below `averageSize`.
    public var sizeVariation: Int64
    /// Microseconds between pieces.
    public var delayUs: Int64

    public init(averageSize: Int64, sizeVariation: Int64 = 0, delayUs: Int64 = 0) {
        self.averageSize = averageSize
        self.sizeVariation = sizeVariation
        self.delayUs = delayUs
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        let r = AttributeReader(attributes)
        averageSize = try r.int("average_size", default: 64, range: 1...(1 << 24))
        sizeVariation = try r.int("size_variation", default: 0, range: 0...(1 << 24))
        delayUs = try r.int("delay", default: 0, range: 0...60_000_000)
        guard sizeVariation < averageSize else {
            throw FaultConfigError(field: "size_variation", reason: "\(sizeVariation) must be smaller than average_size (\(averageSize))")
        }
    }

    public var attributes: FaultAttributes {
        ["average_size": .int(averageSize), "size_variation": .int(sizeVariation), "delay": .int(delayUs)]
    }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        TimedStageHandler(policy: SlicerPolicy(config: self, random: environment.random))
    }
}

public struct SlicerPolicy: StagePolicy {
    public let config: SlicerConfig
    public var random: SeededRandom
    /// When the next piece may leave at the earliest.
    private var nextSlot = NIODeadline.uptimeNanoseconds(0)

    public init(config: SlicerConfig, random: SeededRandom) {
        self.config = config
        self.random = random
    }

    /// One piece size drawn from average ± variation.
    public mutating func nextSize() -> Int {
        let variation = config.sizeVariation
        guard variation > 0 else { return Int(config.averageSize) }
        let offset = Int64(random.next() % UInt64(2 * variation + 1)) - variation
        return Int(config.averageSize + offset)
    }

    public mutating func transform(_ buffer: ByteBuffer, now: NIODeadline, into actions: inout [StageAction]) {
        let delay = TimeAmount.microseconds(config.delayUs)
        let largest = Int(config.averageSize + config.sizeVariation)
        var at = max(now, nextSlot)
        var rest = buffer
        while rest.readableBytes > 0 {
            let size = rest.readableBytes <= largest ? rest.readableBytes : nextSize()
            actions.append(.pass(rest.readSlice(length: size)!, at: at))
            at = at + delay
        }
        nextSlot = at
    }
}
