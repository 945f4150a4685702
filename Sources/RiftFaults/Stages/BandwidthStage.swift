import NIOCore
import RiftCore

/// `bandwidth`: bytes leave no faster than `rate` KB/s (1 KB = 1000 bytes), like a slow link.
///
/// Each byte costs `1/rate` ms of link time and a chunk leaves when its last byte has been
/// "sent": a chunk that arrives while the link is still busy with earlier ones starts where
/// they end (the time debt carries over), and an idle link earns no credit. Large chunks are
/// split into pieces of at most 100 ms worth of bytes (`rate * 100`), each released when the
/// rate allows, so a reader sees a steady trickle rather than one late burst. Bytes are
/// neither changed nor reordered; EOF follows the last byte.
///
/// `rate` 0 means unlimited (bytes pass through at once), which is what Toxiproxy's code
/// intends for 0 (Toxiproxy 2.x actually stalls the stream forever on 0; use `blackhole`
/// for that).
public struct BandwidthConfig: FaultStageConfig {
    public static let type = "bandwidth"
    public static let attributeNames = ["rate"]
    /// Largest accepted rate: 10 GB/s, far above any link the proxy could feed.
    public static let maxRateKBps: Int64 = 10_000_000

    /// KB/s (1000 bytes per second each); 0 = unlimited.
    public var rateKBps: Int64

    public init(rateKBps: Int64) {
        self.rateKBps = rateKBps
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        let r = AttributeReader(attributes)
        rateKBps = try r.int("rate", default: 0, range: 0...Self.maxRateKBps)
    }

    public var attributes: FaultAttributes { ["rate": .int(rateKBps)] }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        TimedStageHandler(policy: BandwidthPolicy(config: self))
    }
}

public struct BandwidthPolicy: StagePolicy {
    public let config: BandwidthConfig
    /// The link went busy at `epoch` and has sent `bytesSinceEpoch` since, back to back.
    /// Release times are computed from these two, so rounding never accumulates.
    private var epoch = NIODeadline.uptimeNanoseconds(0)
    private var bytesSinceEpoch: Int64 = 0
    /// When the last byte handed to the link has been sent.
    private var busyUntil = NIODeadline.uptimeNanoseconds(0)

    public init(config: BandwidthConfig) {
        self.config = config
    }

    /// Bytes per piece: 100 ms worth at the rate.
    public var pieceBytes: Int { Int(max(1, config.rateKBps * 100)) }

    public mutating func transform(_ buffer: ByteBuffer, now: NIODeadline, into actions: inout [StageAction]) {
        let rate = config.rateKBps
        guard rate > 0 else {
            actions.append(.pass(buffer, at: now))
            return
        }
        if now >= busyUntil || bytesSinceEpoch > 1 << 40 {
            // Idle link (no credit is banked), or a fresh epoch so that bytes * 1e6 cannot overflow.
            epoch = max(now, busyUntil)
            bytesSinceEpoch = 0
        }
        var rest = buffer
        while rest.readableBytes > 0 {
            let piece = rest.readSlice(length: min(pieceBytes, rest.readableBytes))!
            bytesSinceEpoch += Int64(piece.readableBytes)
            // 1 byte at `rate` KB/s takes 1e6 / rate ns; round up so bytes never leave early.
            let nanos = (bytesSinceEpoch * 1_000_000 + rate - 1) / rate
            busyUntil = epoch + .nanoseconds(nanos)
            actions.append(.pass(piece, at: busyUntil))
        }
    }
}
