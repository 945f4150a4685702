import NIOCore
import RiftCore

/// `reset_peer`: the first thing that arrives after the stage meets the connection (a
/// chunk of bytes, or EOF) arms it, and `timeout` ms later (at once for 0) it sends
/// `FaultDirective.reset`, so the reader of this direction sees "connection reset by peer".
///
/// As in Toxiproxy, an idle connection is left alone until it is used, and the bytes from
/// the arming chunk on are dropped: a reset discards what was not yet delivered. A later EOF
/// is swallowed (the reset is the end); inactivity passes through. Bytes that passed before
/// the stage was attached are, of course, delivered.
///
/// Removal before the reset: if bytes were dropped the stage sends `.close` as it leaves
/// (the stream is corrupted); otherwise a swallowed EOF is passed on and data flows again.
public struct ResetPeerConfig: FaultStageConfig {
    public static let type = "reset_peer"
    public static let attributeNames = ["timeout"]

    /// Milliseconds from the first data to the reset; 0 = at once.
    public var timeoutMs: Int64

    public init(timeoutMs: Int64) {
        self.timeoutMs = timeoutMs
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        let r = AttributeReader(attributes)
        timeoutMs = try r.int("timeout", default: 0, range: 0...86_400_000)
    }

    public var attributes: FaultAttributes { ["timeout": .int(timeoutMs)] }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        ResetPeerHandler(timeout: .milliseconds(timeoutMs))
    }
}

/// Arms on the first data or EOF, drops from then on, and sends `.reset` after the timeout.
/// Holds no bytes, so it needs no backpressure.
public final class ResetPeerHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private enum State {
        case idle
        case armed
        case reset
    }

    private let timeout: TimeAmount
    private var state = State.idle
    private var timer: Scheduled<Void>?
    private var eofSwallowed = false

    /// Bytes dropped so far (for tests and metrics).
    public private(set) var droppedBytes: Int64 = 0

    public init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        droppedBytes += Int64(unwrapInboundIn(data).readableBytes)
        arm(context: context)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {}

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            eofSwallowed = true
            arm(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        timer?.cancel()
        timer = nil
        switch state {
        case .idle, .armed:
            if droppedBytes > 0 {
                context.fireUserInboundEventTriggered(FaultDirective.close)
            } else if eofSwallowed {
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            }
        case .reset:
            break
        }
        context.leavePipeline(removalToken: removalToken)
    }

    private func arm(context: ChannelHandlerContext) {
        guard case .idle = state else { return }
        state = .armed
        if timeout <= .zero {
            sendReset(context: context)
            return
        }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.sendReset(context: loopBound.value)
        }
    }

    private func sendReset(context: ChannelHandlerContext) {
        state = .reset
        context.fireUserInboundEventTriggered(FaultDirective.reset)
    }
}

@available(*, unavailable)
extension ResetPeerHandler: Sendable {}
