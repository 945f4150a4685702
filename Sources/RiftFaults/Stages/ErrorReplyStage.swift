import NIOCore
import RiftCore

/// `error_reply`: a matching request is not forwarded; the client gets an error instead,
/// `-<message>\r\n` for RESP, `SERVER_ERROR <message>\r\n` for memcached, in the place its
/// real reply would have had among the replies to pipelined requests (see
/// `FrameStageHandler`). A request sent with `noreply` (or meta `q`) is swallowed instead.
///
/// Upstream only: the stage answers on the channel it reads from, by writing through the
/// pipeline toward the client socket, so the proxy glue needs nothing new. On a downstream
/// fault it installs no stage.
///
/// Pairing counts the requests this stage forwards, so: a stage after it in the upstream
/// chain that swallows requests (`drop_frame`) leaves its errors waiting for replies that
/// never come (until the stage is removed), as the client itself waits; and when the stage
/// is added to a live connection with replies still outstanding, its first error may go
/// out ahead of them.
public struct ErrorReplyConfig: FaultStageConfig {
    public static let type = "error_reply"
    public static let attributeNames = ["message"] + FrameMatch.attributeNames
    public static let defaultMessage = "ERR injected by rift"
    /// memcached's `SERVER_ERROR` already says what RESP's `ERR` prefix does.
    public static let defaultMemcachedMessage = "injected by rift"

    public var match: FrameMatch
    public var message: String

    public init(message: String = Self.defaultMessage, match: FrameMatch) {
        self.message = message
        self.match = match
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        match = try FrameMatch(attributes: attributes)
        message = attributes["message"].map { "\($0)" }
            ?? (match.wireProtocol == .memcached ? Self.defaultMemcachedMessage : Self.defaultMessage)
        guard !message.utf8.contains(where: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }), message.utf8.count <= 4096 else {
            throw FaultConfigError(field: "message", reason: "must be one line of at most 4096 bytes")
        }
    }

    public var attributes: FaultAttributes {
        var all = match.attributes
        all["message"] = .string(message)
        return all
    }

    /// The bytes the client receives.
    public var replyBytes: ByteBuffer {
        switch match.wireProtocol {
        case .resp: return ByteBuffer(string: "-\(message)\r\n")
        case .memcached: return ByteBuffer(string: "SERVER_ERROR \(message)\r\n")
        }
    }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        guard environment.direction == .upstream else { return nil }
        return FrameStageHandler(match: match, policy: ErrorReplyPolicy(reply: replyBytes, direction: environment.direction),
                                 environment: environment)
    }
}

/// A selected request is answered with `reply` in its place among the replies, and never
/// forwarded; one sent without wanting a reply is swallowed (a reply would desync the client).
public struct ErrorReplyPolicy: FramePolicy {
    public let reply: ByteBuffer
    public let direction: StreamDirection

    public init(reply: ByteBuffer, direction: StreamDirection) {
        self.reply = reply
        self.direction = direction
    }

    public var tracksReplies: Bool { direction == .upstream }

    public mutating func decide(_ frame: WireFrame, now: NIODeadline, queueIsEmpty: Bool,
                                random: inout SeededRandom) -> FrameAction {
        frame.expectedReplies != 0 ? .answer(reply) : .drop
    }
}
